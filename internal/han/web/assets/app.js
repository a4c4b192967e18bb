// The in-home display page: a small script over the HAN JSON API and its
// live stream. Values arrive as exact decimal strings; they become
// numbers only here, for display.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const E = "1-0:1.8.0*255", P = "1-0:1.7.0*255", PX = "1-0:2.7.0*255";
  const st = { meter: null, tz: undefined, es: null, maxW: 3000, powerUnit: "W" };

  function api(path, opts) {
    opts = opts || {};
    opts.credentials = "same-origin";
    return fetch(path, opts).then((r) => {
      if (r.status === 401) { showPairing(); throw new Error("unpaired"); }
      if (!r.ok) throw new Error(path + ": " + r.status);
      return r.json();
    });
  }
  function post(path, body) {
    return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
  }
  function num(s) { return s == null ? NaN : parseFloat(s); }
  function kwh(wh) { return (wh / 1000).toFixed(wh >= 100000 ? 0 : wh >= 10000 ? 1 : 2); }
  function fmtTime(t) { return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: st.tz }); }
  function fmtDay(t) { return new Date(t).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short", timeZone: st.tz }); }
  function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function svg(tag, attrs) { const e = document.createElementNS("http://www.w3.org/2000/svg", tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }

  function showPairing() {
    $("dash").hidden = true; $("pairing").hidden = false;
    if (st.es) { st.es.close(); st.es = null; }
  }

  $("pairform").addEventListener("submit", (ev) => {
    ev.preventDefault();
    $("pairerr").textContent = "";
    fetch("/api/v1/pair", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: $("code").value.trim(), name: $("name").value.trim() || "display" }) })
      .then((r) => {
        if (r.status === 401) throw new Error("That code is wrong, expired or used. Ask for a new one.");
        if (r.status === 429) throw new Error("Too many tries; wait a minute.");
        if (!r.ok) throw new Error("Pairing failed (" + r.status + ").");
        $("pairing").hidden = true; start();
      })
      .catch((e) => { $("pairerr").textContent = e.message; });
  });

  function tick() { $("clock").textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: st.tz }); }

  function start() {
    api("/api/v1/status").then((s) => {
      st.tz = s.tz && s.tz !== "Local" ? s.tz : undefined;
      try { new Date().toLocaleString([], { timeZone: st.tz }); } catch (e) { st.tz = undefined; }
      $("gw").textContent = "Energy at home · " + s.gateway;
      $("demo").hidden = !s.demo;
      $("foot").textContent = "smgw " + s.version + (s.demo ? " · demo" : " · display " + s.client);
      $("pairing").hidden = true; $("dash").hidden = false;
      tick();
      return api("/api/v1/meters");
    }).then((m) => {
      const ms = m.meters;
      const pick = ms.find((x) => x.series.some((s) => s.obis === E) && x.series.some((s) => s.obis === P)) ||
        ms.find((x) => x.series.some((s) => s.obis === E)) || ms[0];
      if (!pick) { $("powerinfo").textContent = "no meter yet"; return; }
      st.meter = pick.id;
      api("/api/v1/readings/latest?meter=" + encodeURIComponent(st.meter)).then((l) => l.readings.forEach(onReading)).catch(() => {});
      live(); refreshEnergy(); refreshTariff();
    }).catch(() => {});
  }

  function live() {
    if (st.es) st.es.close();
    const es = new EventSource("/api/v1/live?meter=" + encodeURIComponent(st.meter));
    st.es = es;
    const handler = (ev) => { try { onReading(JSON.parse(ev.data)); } catch (e) { /* ignore a bad event */ } };
    es.addEventListener("live", handler);
    es.addEventListener("reading", handler);
    es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn on"; };
    es.onerror = () => {
      $("conn").textContent = "reconnecting"; $("conn").className = "conn off";
      if (es.readyState === 2) { // closed for good (401): check why
        setTimeout(() => api("/api/v1/status").then(live).catch(() => {}), 5000);
      }
    };
  }

  const seen = {};
  function onReading(r) {
    const key = r.obis;
    if (seen[key] && new Date(seen[key]) > new Date(r.time)) return;
    seen[key] = r.time;
    if (r.obis === P) setPower(num(r.value), r.time);
    if (r.obis === PX && num(r.value) > 0) $("powerinfo").textContent = "exporting " + r.value + " W";
    if (r.obis === E && r.kind === "register") { clearTimeout(st.refresh); st.refresh = setTimeout(refreshEnergy, 1500); }
  }

  function setPower(w, t) {
    if (isNaN(w)) return;
    if (w > st.maxW) st.maxW = Math.ceil(w / 1000) * 1000;
    const big = Math.abs(w) >= 10000;
    $("power").textContent = big ? (w / 1000).toFixed(2) : String(Math.round(w));
    $("powerunit").textContent = big ? "kW" : "W";
    const frac = Math.max(0, Math.min(1, w / st.maxW));
    $("arc").style.strokeDasharray = (frac * 251.3).toFixed(1) + " 252";
    $("powerinfo").textContent = "at " + fmtTime(t) + " · scale " + st.maxW / 1000 + " kW";
  }

  function localMidnight(d) {
    // Midnight of d in the gateway's zone, found by stepping back from d.
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: st.tz, hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(d);
    const get = (t) => parseInt(parts.find((p) => p.type === t).value, 10) % 24;
    return new Date(d.getTime() - ((get("hour") * 60 + get("minute")) * 60 + get("second")) * 1000 - d.getMilliseconds());
  }
  function monthStart(d, back) {
    let m = localMidnight(d);
    const day = (x) => parseInt(new Intl.DateTimeFormat("en-US", { timeZone: st.tz, day: "numeric" }).format(x), 10);
    m = localMidnight(new Date(m.getTime() - (day(m) - 1) * 86400000 + 3600000 * 3));
    for (let i = 0; i < back; i++) {
      const prev = localMidnight(new Date(m.getTime() - 86400000 + 3600000 * 3));
      m = localMidnight(new Date(prev.getTime() - (day(prev) - 1) * 86400000 + 3600000 * 3));
    }
    return m;
  }

  function hist(res, from, to) {
    return api("/api/v1/history?meter=" + encodeURIComponent(st.meter) + "&obis=" + encodeURIComponent(E) +
      "&resolution=" + res + "&from=" + from.toISOString() + "&to=" + to.toISOString());
  }

  function refreshEnergy() {
    if (!st.meter) return;
    const now = new Date();
    const midnight = localMidnight(now), thisMonth = monthStart(now, 0), lastMonth = monthStart(now, 1);
    hist("hour", new Date(now.getTime() - 23 * 3600000), now).then((h) => chart($("chart24"), h.points, (p) => fmtTime(p.start), 6));
    hist("day", midnight, now).then((h) => { $("today").textContent = h.total ? kwh(num(h.total)) : "–"; });
    const from30 = new Date(Math.min(localMidnight(new Date(now.getTime() - 29 * 86400000)).getTime(), lastMonth.getTime()));
    hist("day", from30, now).then((h) => {
      const pts = h.points;
      let tm = 0, lm = 0, lmSame = 0;
      const dayOfMonth = Math.round((midnight - thisMonth) / 86400000);
      pts.forEach((p) => {
        const t = new Date(p.start), v = num(p.value) || 0;
        if (t >= thisMonth) tm += v;
        else if (t >= lastMonth) { lm += v; if (Math.round((t - lastMonth) / 86400000) <= dayOfMonth) lmSame += v; }
      });
      $("month").textContent = kwh(tm);
      $("lastmonth").textContent = "last month " + kwh(lm) + " kWh; by this day " + kwh(lmSame) + " kWh";
      const max = Math.max(tm, lm, 1);
      $("monthbar").style.width = (100 * tm / max) + "%";
      $("lastbar").style.width = (100 * lm / max) + "%";
      const cut = localMidnight(new Date(now.getTime() - 29 * 86400000));
      chart($("chart30"), pts.filter((p) => new Date(p.start) >= cut), (p) => fmtDay(p.start), 7);
    });
    api("/api/v1/totals?meter=" + encodeURIComponent(st.meter) + "&from=" + thisMonth.toISOString() + "&to=" + now.toISOString()).then((t) => {
      const tb = $("tiers").tBodies[0];
      tb.replaceChildren();
      t.tiers.forEach((x) => {
        const tr = el("tr");
        tr.append(el("td", null, x.label || ("tier " + x.tier)), el("td", "n", kwh(num(x.consumption)) + " kWh"),
          el("td", "n", x.cost ? num(x.cost).toFixed(2) + " " + t.currency : ""));
        tb.append(tr);
      });
      if (!t.tiers.length) tb.append(el("tr")).append(el("td", null, "no tariff from the utility yet"));
    }).catch(() => {});
    api("/api/v1/totals?meter=" + encodeURIComponent(st.meter) + "&from=" + midnight.toISOString() + "&to=" + now.toISOString()).then((t) => {
      $("todaycost").textContent = t.cost ? "≈ " + num(t.cost).toFixed(2) + " " + t.currency + " so far" : "";
    }).catch(() => {});
  }

  function chart(root, pts, label, every) {
    root.replaceChildren();
    // Drawn at the element's own size, so that text is not stretched.
    const W = Math.round(root.clientWidth) || 600, H = Math.round(root.clientHeight) || 160, B = 18, n = Math.max(pts.length, 1);
    root.setAttribute("viewBox", "0 0 " + W + " " + H);
    const vals = pts.map((p) => (num(p.value) || 0) / 1000);
    const max = Math.max(...vals, 0.001);
    const bw = W / n;
    root.append(svg("line", { x1: 0, y1: H - B, x2: W, y2: H - B }));
    pts.forEach((p, i) => {
      const h = (H - B - 14) * vals[i] / max;
      const r = svg("rect", { x: (i * bw + 1).toFixed(1), y: (H - B - h).toFixed(1), width: Math.max(bw - 2, 1).toFixed(1), height: h.toFixed(1) });
      if (i === pts.length - 1) r.setAttribute("class", "now");
      const tt = svg("title", {}); tt.textContent = label(p) + ": " + vals[i].toFixed(3) + " kWh"; r.append(tt);
      root.append(r);
      if (i % every === 0) { const tx = svg("text", { x: (i * bw + 2).toFixed(1), y: H - 4 }); tx.textContent = label(p); root.append(tx); }
    });
    const mx = svg("text", { x: 2, y: 11 }); mx.textContent = max.toFixed(2) + " kWh"; root.append(mx);
  }

  function refreshTariff() {
    api("/api/v1/price").then((p) => {
      if (!p.current) { $("price").textContent = "–"; $("pricelabel").textContent = "no tariff from the utility yet"; $("nextprice").textContent = ""; return; }
      $("price").textContent = p.current.price;
      $("priceunit").textContent = p.current.currency + "/" + p.current.unit;
      $("pricelabel").textContent = p.current.label + (p.current.dynamic ? " (dynamic)" : "");
      $("nextprice").textContent = p.next ? "from " + fmtTime(p.next_at) + ": " + p.next.price + " " + p.next.currency + "/" + p.next.unit + " (" + p.next.label + ")" : "no change ahead";
    }).catch(() => {});
    api("/api/v1/messages").then((m) => {
      const box = $("messages");
      box.replaceChildren();
      m.messages.forEach((x) => {
        const d = el("div", "msg " + x.priority);
        d.append(el("span", null, x.text));
        if (x.confirmation_required && !x.confirmed) {
          const b = el("button", null, "OK");
          b.addEventListener("click", () => { b.disabled = true; post("/api/v1/messages/" + encodeURIComponent(x.id) + "/ack").then(refreshTariff).catch(() => { b.disabled = false; }); });
          d.append(b);
        }
        box.append(d);
      });
    }).catch(() => {});
    api("/api/v1/events").then((e) => {
      const box = $("events");
      box.replaceChildren();
      e.active.concat(e.pending).forEach((x) => {
        const d = el("div", "ev" + (x.active ? "" : " pending"));
        const what = x.active ? "Please use less power now, until " + fmtTime(x.end) : "Demand response planned " + fmtDay(x.start) + " " + fmtTime(x.start) + "–" + fmtTime(x.end);
        d.append(el("span", null, what + (x.load_reduction ? " (−" + x.load_reduction + " %)" : "") + " · " + x.device_classes.join(", ")));
        if (x.opted_out) d.append(el("em", null, "opted out"));
        else if (x.opt_out_allowed) {
          const b = el("button", null, "Opt out");
          b.addEventListener("click", () => { b.disabled = true; post("/api/v1/events/" + encodeURIComponent(x.id) + "/opt-out").then(refreshTariff).catch(() => { b.disabled = false; }); });
          d.append(b);
        }
        box.append(d);
      });
    }).catch(() => {});
  }

  setInterval(tick, 10000);
  setInterval(() => { if (!$("dash").hidden) refreshTariff(); }, 60000);
  setInterval(() => { if (!$("dash").hidden) refreshEnergy(); }, 300000);
  start();
})();
