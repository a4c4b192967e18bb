// smgw status page: keeps the server-rendered page live by polling the
// JSON API beside it. Values are strings (exact decimals) and are shown as
// they come; nothing is parsed as a number except sizes and durations.
"use strict";
(function () {
  const body = document.body;
  const serverNow = Date.parse(body.dataset.now || "");
  const skew = isNaN(serverNow) ? 0 : serverNow - Date.now();
  const now = () => Date.now() + skew;

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function fmtAgo(ms) {
    if (ms < 0) return "in " + fmtAgo(-ms).replace(/ ago$/, "");
    const s = Math.floor(ms / 1000);
    if (s < 1) return "just now";
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 172800) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  function fmtDuration(sec) {
    const s = Math.floor(sec);
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    if (d > 0) return d + " d " + h + " h";
    if (h > 0) return h + " h " + m + " min";
    if (m > 0) return m + " min " + (s % 60) + " s";
    return (s % 60) + " s";
  }

  function fmtBytes(n) {
    if (n < 1024) return n + " B";
    let f = n;
    for (const u of ["KiB", "MiB", "GiB", "TiB"]) {
      f /= 1024;
      if (f < 1024 || u === "TiB") return f.toFixed(1) + " " + u;
    }
    return String(n);
  }

  function fmtTime(iso) {
    const t = new Date(iso);
    if (isNaN(t)) return "–";
    const n = new Date(now());
    const two = (x) => String(x).padStart(2, "0");
    const hms = two(t.getHours()) + ":" + two(t.getMinutes()) + ":" + two(t.getSeconds());
    if (t.toDateString() === n.toDateString()) return hms;
    return t.toLocaleDateString(undefined, { day: "numeric", month: "short" }) + " " + hms.slice(0, 5);
  }

  function setTime(el, iso) {
    if (!el) return;
    if (el.getAttribute("datetime") !== iso) {
      el.setAttribute("datetime", iso || "");
      el.title = iso ? new Date(iso).toString() : "";
    }
    setText(el, iso ? fmtTime(iso) : "–");
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A reading's value cell content: exact value and unit.
  function updateValue(row, r) {
    const v = row.querySelector(".v"), u = row.querySelector(".u");
    if (v && v.textContent !== r.value) {
      v.textContent = r.value;
      row.classList.add("flash");
      setTimeout(() => row.classList.remove("flash"), 400);
    }
    setText(u, r.unit);
    setTime(row.querySelector("time.t"), r.time);
  }

  function updateLive(live) {
    const tbody = document.querySelector("#live tbody");
    if (!tbody) return;
    const rows = new Map();
    for (const tr of tbody.querySelectorAll("tr[data-key]")) rows.set(tr.dataset.key, tr);
    for (const r of live || []) {
      const key = r.meter + "|" + r.obis;
      let tr = rows.get(key);
      if (!tr) {
        const none = tbody.querySelector("tr.none");
        if (none) none.remove();
        tr = el("tr");
        tr.dataset.key = key;
        const val = el("td", "num");
        val.append(el("span", "v"), " ", el("span", "u"));
        const tm = el("td");
        tm.append(el("time", "t"));
        tr.append(el("td", "", r.meter), el("td", "", r.obis), val, tm);
        tbody.append(tr);
        rows.set(key, tr);
      }
      updateValue(tr, r);
    }
  }

  function updateServices(services) {
    const ul = document.getElementById("services");
    if (!ul) return;
    const items = [];
    for (const s of services || []) {
      const li = el("li", s.healthy ? "ok" : "bad");
      li.dataset.service = s.name;
      const dot = el("span", "dot");
      dot.setAttribute("aria-hidden", "true");
      const ago = el("time", "ago", s.last_progress ? fmtAgo(now() - Date.parse(s.last_progress)) : "never");
      if (s.last_progress) ago.setAttribute("datetime", s.last_progress);
      li.append(dot, el("span", "name", s.name), el("span", "health", s.healthy ? "healthy" : "unhealthy"),
        ago, el("span", "err", s.error || ""));
      items.push(li);
    }
    if (items.length === 0) items.push(el("li", "none", "No services reported."));
    ul.replaceChildren(...items);
  }

  function updateStats(st) {
    const set = (key, text, title) => {
      const dd = document.querySelector('dd[data-stat="' + key + '"]');
      setText(dd, text);
      if (dd && title !== undefined) dd.title = title;
    };
    set("appended", String(st.appended));
    set("deferred", String(st.deferred));
    set("commits", String(st.commits));
    set("compactions", String(st.compactions));
    set("journal_bytes", fmtBytes(st.journal_bytes), st.journal_bytes + " bytes");
    set("file_bytes", fmtBytes(st.file_bytes), st.file_bytes + " bytes");
    set("series", st.meters + " / " + st.series);
    if (st.last_commit) {
      set("last_commit", fmtAgo(now() - Date.parse(st.last_commit)) +
        " (took " + (st.last_commit_took_seconds * 1000).toFixed(1) + " ms)", new Date(st.last_commit).toString());
    }
  }

  // The RS-485 meters' health rows (server-rendered; updated in place).
  function updateLMN(lmn) {
    for (const b of (lmn && lmn.buses) || []) {
      for (const m of b.meters || []) {
        const tr = document.querySelector('tr[data-lmn="' + CSS.escape(m.meter) + '"]');
        if (!tr) continue;
        const f = (name) => tr.querySelector('[data-f="' + name + '"]');
        tr.className = m.state === "ok" || m.state === "waiting" ? "ok" : "bad";
        setText(f("state"), m.state);
        const t = f("last_success");
        if (t) {
          t.setAttribute("datetime", m.last_success || "");
          setText(t, m.last_success ? fmtAgo(now() - Date.parse(m.last_success)) : "never");
        }
        setText(f("consecutive_failures"), String(m.consecutive_failures));
        setText(f("timeouts"), String(m.timeouts));
        setText(f("frame_errors"), String(m.frame_errors));
        setText(f("retries"), String(m.retries));
        const kinds = Object.keys(m.protocol || {}).sort().map((k) => k + " " + m.protocol[k]);
        if (m.other) kinds.push("other " + m.other);
        setText(f("refused"), kinds.length ? kinds.join(", ") : "0");
        const e = f("last_error");
        if (e) setText(e, (m.last_error || "") + (m.last_error_at ? " (" + fmtAgo(now() - Date.parse(m.last_error_at)) + ")" : ""));
      }
    }
  }

  function updateStatus(st) {
    setText(document.getElementById("gateway-id"), st.gateway_id);
    setText(document.getElementById("version"), st.version);
    setText(document.getElementById("uptime"), fmtDuration(st.uptime_seconds));
    setText(document.getElementById("key-provider"), st.key_provider);
    setText(document.getElementById("wan"), st.wan);
    setText(document.getElementById("meters-seen"), String(st.meters_seen));
    setText(document.getElementById("readings-last-minute"), String(st.readings_last_minute));
    if (st.store) updateStats(st.store);
    updateServices(st.services);
    updateLMN(st.lmn);
    updateLive(st.live);
  }

  function updateMeters(meters) {
    const rows = new Map();
    for (const tr of document.querySelectorAll("tr[data-series]")) rows.set(tr.dataset.series, tr);
    for (const m of meters || []) {
      for (const s of m.series || []) {
        const tr = rows.get(m.id + "|" + s.obis);
        if (tr && s.latest) updateValue(tr, s.latest);
      }
    }
  }

  // Relative times tick between polls.
  function tick() {
    for (const t of document.querySelectorAll("time.ago[datetime]")) {
      const iso = t.getAttribute("datetime");
      if (iso) setText(t, fmtAgo(now() - Date.parse(iso)));
    }
    for (const tr of document.querySelectorAll("tr[data-series]")) {
      const t = tr.querySelector("time.t"), ago = tr.querySelector(".ago");
      const iso = t && t.getAttribute("datetime");
      if (iso && ago) setText(ago, fmtAgo(now() - Date.parse(iso)));
    }
  }

  const conn = document.getElementById("conn");
  function online(ok) {
    if (!conn) return;
    conn.classList.toggle("offline", !ok);
    setText(conn, ok ? "live" : "connection lost");
  }

  async function getJSON(path) {
    const r = await fetch(path, { cache: "no-store", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  let polls = 0;
  async function poll() {
    try {
      updateStatus(await getJSON("/api/status"));
      if (polls % 5 === 0) updateMeters(await getJSON("/api/meters"));
      online(true);
    } catch (e) {
      online(false);
    }
    polls++;
    tick();
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
