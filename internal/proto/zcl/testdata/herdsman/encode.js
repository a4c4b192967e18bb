// Encodes ZCL frames with zigbee-herdsman for the cross-check in
// ../../herdsman_test.go. Input (stdin): a JSON array of cases
//   {frameType, direction, ddr, manufacturer, seq, cluster, command, payload}
// where cluster and command are herdsman's keys ("seMetering", "readRsp").
// Output (stdout): a JSON array, per case {hex} or {error}.
// NODE_PATH (or a node_modules beside this file) must hold zigbee-herdsman.
"use strict";
const {Zcl} = require("zigbee-herdsman");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
    const out = [];
    for (const c of JSON.parse(input)) {
        try {
            const f = Zcl.Frame.create(c.frameType, c.direction, c.ddr, c.manufacturer ?? undefined, c.seq, c.command, c.cluster, c.payload, {});
            out.push({hex: f.toBuffer().toString("hex")});
        } catch (e) {
            out.push({error: String(e && e.message ? e.message : e)});
        }
    }
    process.stdout.write(JSON.stringify(out));
});
