// The agent's desk. It signs in with the agent's own API token, follows the
// agent's event stream (state changes and screen pops) and works the
// caller's work orders through the API. Every text from the server goes
// into the page as text, never as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "hotline.desk.token", LANG_KEY = "hotline.desk.lang";
  const S = { token: "", me: null, lang: "zh", tax: null, agent: null, caller: null, pop: null, ticket: null,
    lastEventId: "", gen: 0, abort: null };

  // ---------------------------------------------------------------- words
  function t(key, vars) {
    let s = (I18N[S.lang] && I18N[S.lang][key]) || I18N.zh[key] || key;
    for (const k in vars || {}) s = s.split("{" + k + "}").join(String(vars[k]));
    return s;
  }
  function nm(group, id) {
    const v = NAMES[group] && NAMES[group][id];
    if (!v) return id || "";
    if (Array.isArray(v)) return S.lang === "en" ? v[1] : v[0];
    return S.lang === "en" ? v : id;
  }
  const choice = (c) => (S.lang === "en" ? c.en || c.id : c.name || c.id);
  const taxName = (group, item) => (S.lang === "en" ? (NAMES[group] && NAMES[group][item.id]) || item.id : item.name || item.id);
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return new Intl.DateTimeFormat(S.lang === "en" ? "en-GB" : "zh-CN", { timeZone: "Asia/Shanghai", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).format(d);
  }
  function waited(sec) {
    if (sec === undefined || sec === null) return "";
    const n = Math.round(sec);
    return n < 60 ? t("seconds", { n }) : t("minutes", { m: Math.floor(n / 60), s: n % 60 });
  }

  function applyI18n() {
    document.documentElement.lang = S.lang === "en" ? "en" : "zh-CN";
    document.body.dataset.lang = S.lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
    for (const ul of document.querySelectorAll(".orders")) ul.dataset.empty = t("none");
    $("btn-lang").textContent = S.lang === "en" ? "中文" : "English";
    document.title = t("title");
    fillSelects();
    renderState();
    renderPop();
    renderOrder();
  }

  let toastTimer = 0;
  function toast(msg, kind) {
    const el = $("toast");
    el.textContent = msg;
    el.dataset.kind = kind || "ok";
    el.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove("show"), kind === "error" ? 8000 : 3000);
  }

  // ------------------------------------------------------------------ API
  async function api(method, path, body) {
    const opt = { method, headers: { Authorization: "Bearer " + S.token }, cache: "no-store" };
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(path, opt);
    let data = null;
    try { data = await r.json(); } catch (e) { /* not JSON */ }
    if (!r.ok) {
      const err = new Error((data && data.error) || r.status + " " + r.statusText);
      err.status = r.status;
      throw err;
    }
    return data;
  }
  const agentPath = (suffix) => "/api/v1/agents/" + encodeURIComponent(S.me.agent) + suffix;
  const ticketPath = (id, suffix) => "/api/v1/tickets/" + encodeURIComponent(id) + (suffix || "");

  // ------------------------------------------------------------- sign-in
  async function signIn(tok) {
    S.token = tok;
    $("signin-error").textContent = "";
    let me;
    try {
      me = await api("GET", "/api/v1/whoami");
    } catch (e) {
      S.token = "";
      $("signin-error").textContent = e.status === 401 ? t("bad_token") : e.message;
      return;
    }
    if (me.role !== "agent" || !me.agent) {
      S.token = "";
      $("signin-error").textContent = t("not_agent", { role: me.role });
      return;
    }
    S.me = me;
    sessionStorage.setItem(TOKEN_KEY, tok);
    $("signin").hidden = true;
    $("work").hidden = false;
    $("agentbar").hidden = false;
    $("btn-signout").hidden = false;
    $("who").textContent = me.agent + (me.name ? " · " + me.name : "");
    try {
      S.tax = await api("GET", "/api/v1/taxonomy");
      fillSelects();
      await refreshAgent();
      await refreshCaller();
    } catch (e) {
      toast(e.message, "error");
    }
    startStream();
  }

  function signOut(msg) {
    S.gen++;
    if (S.abort) S.abort.abort();
    sessionStorage.removeItem(TOKEN_KEY);
    Object.assign(S, { token: "", me: null, agent: null, caller: null, pop: null, ticket: null, lastEventId: "" });
    $("signin").hidden = false;
    $("work").hidden = true;
    $("agentbar").hidden = true;
    $("btn-signout").hidden = true;
    $("signin-error").textContent = msg || "";
    setConn("off");
  }

  // --------------------------------------------------------- event stream
  function setConn(state) {
    const el = $("conn");
    el.dataset.state = state;
    el.dataset.i18n = "conn_" + state;
    el.textContent = t("conn_" + state);
  }

  // The stream is read with fetch, not EventSource, so that it can carry
  // the token in a header (EventSource cannot) and never in a URL.
  async function startStream() {
    const gen = ++S.gen;
    let backoff = 1000;
    while (S.token && gen === S.gen) {
      setConn("connecting");
      try {
        const headers = { Authorization: "Bearer " + S.token, Accept: "text/event-stream" };
        if (S.lastEventId) headers["Last-Event-ID"] = S.lastEventId;
        S.abort = new AbortController();
        const r = await fetch(agentPath("/events"), { headers, signal: S.abort.signal, cache: "no-store" });
        if (r.status === 401) { signOut(t("bad_token")); return; }
        if (!r.ok) throw new Error("HTTP " + r.status);
        setConn("connected");
        backoff = 1000;
        refreshAgent().catch(() => {});
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            onBlock(block);
          }
        }
      } catch (e) {
        if (gen !== S.gen) return;
      }
      if (gen !== S.gen) return;
      setConn("down");
      await new Promise((res) => setTimeout(res, backoff));
      backoff = Math.min(backoff * 2, 15000);
    }
  }

  function onBlock(block) {
    let ev = "message", id = "", data = "";
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const k = i < 0 ? line : line.slice(0, i);
      let v = i < 0 ? "" : line.slice(i + 1);
      if (v.startsWith(" ")) v = v.slice(1);
      if (k === "event") ev = v;
      else if (k === "id") id = v;
      else if (k === "data") data += (data ? "\n" : "") + v;
    }
    if (id) S.lastEventId = id;
    if (!data) return;
    let d;
    try { d = JSON.parse(data); } catch (e) { return; }
    if (ev === "state") onState(d);
    else if (ev === "screen_pop") onPop(d);
    else if (ev === "consult") window.DeskTransfer.onConsult(d);
  }

  function onState(d) {
    S.agent = Object.assign({}, S.agent, { state: d.state, reason: d.reason, since: d.since, call_id: d.call_id });
    renderState();
    if (d.state === "ringing" || d.state === "on_call" || d.state === "wrap_up") {
      refreshCaller().catch(() => {});
    } else if (S.caller) {
      S.caller.live = false;
      renderPop();
    }
  }

  function onPop(d) {
    S.pop = d;
    S.caller = { call_id: d.call_id, phone: d.phone, account: d.account, name: d.name, ticket_id: d.ticket_id, live: true,
      state: "ringing", open_tickets: [], recent_tickets: [] };
    $("wrapup-done").textContent = "";
    renderPop();
    if (d.ticket_id) openTicket(d.ticket_id);
    refreshCaller().catch(() => {});
  }

  // ---------------------------------------------------------------- state
  async function refreshAgent() {
    S.agent = await api("GET", agentPath(""));
    renderState();
  }

  function renderState() {
    const a = S.agent;
    const el = $("state");
    if (!a) { el.textContent = "—"; el.dataset.state = ""; return; }
    el.dataset.state = a.state;
    let label = nm("state", a.state);
    if (a.state === "paused" && a.reason) {
      const c = S.tax && S.tax.pause_reasons.find((r) => r.id === a.reason);
      label += " · " + (c ? choice(c) : a.reason);
    }
    el.textContent = label;
    renderPop();
    $("since").textContent = a.since ? t("since", { t: when(a.since) }) : "";
    const st = a.state;
    $("btn-login").disabled = st !== "logged_out";
    $("btn-ready").disabled = !(st === "paused" || st === "wrap_up");
    $("btn-pause").disabled = !(st === "available" || st === "paused" || st === "wrap_up");
    $("btn-logout").disabled = !(st === "available" || st === "paused" || st === "wrap_up");
  }

  async function agentAction(action, body) {
    try {
      S.agent = await api("POST", agentPath("/" + action), body);
      renderState();
      toast(t("done_state"));
    } catch (e) {
      toast(e.message, "error");
    }
  }

  // --------------------------------------------------------------- caller
  async function refreshCaller() {
    let c;
    try {
      c = await api("GET", agentPath("/caller"));
    } catch (e) {
      if (e.status === 409 && S.caller) { S.caller.live = false; renderPop(); }
      return;
    }
    if (S.pop && S.pop.call_id !== c.call_id) S.pop = null;
    const fresh = !S.caller || S.caller.call_id !== c.call_id;
    S.caller = c;
    renderPop();
    if (!S.ticket || fresh) {
      const first = c.ticket_id || (c.open_tickets[0] && c.open_tickets[0].id);
      if (first) openTicket(first);
    }
  }

  function setField(root, field, value, raw) {
    const el = root.querySelector('[data-field="' + field + '"]');
    if (!el) return;
    el.textContent = value || "";
    if (raw !== undefined) el.dataset.value = raw || "";
  }

  function renderPop() {
    const c = S.caller, p = S.pop, root = $("pop");
    $("pop-empty").hidden = !!c;
    $("pop-fields").hidden = !c;
    root.dataset.call = c ? c.call_id : "";
    root.dataset.live = c && c.live ? "true" : "false";
    const after = S.agent && S.agent.state === "wrap_up";
    if (!c) window.DeskTransfer.render(null, null);
    $("pop-kind").textContent = !c ? "" : c.live ? (c.state === "ringing" ? t("pop_ringing") : t("pop_live")) : after ? t("pop_after") : t("pop_last");
    if (!c) { fillOrders("open-orders", []); fillOrders("recent-orders", []); return; }
    setField(root, "phone", c.phone);
    setField(root, "account", c.account);
    setField(root, "name", c.name);
    setField(root, "address", c.address);
    setField(root, "area", c.area);
    setField(root, "class", nm("customer", c.class), c.class);
    setField(root, "age_group", nm("age", c.age_group), c.age_group);
    setField(root, "menu_path", p ? p.menu_path : "");
    setField(root, "queue", p ? nm("queue", p.queue) : "", p ? p.queue : "");
    setField(root, "priority", p ? nm("priority", p.priority) : "", p ? p.priority : "");
    setField(root, "wait", p ? waited(p.waited_s) : "");
    window.DeskTransfer.render(c, p); // a caller another agent passed on; the transfer controls
    fillOrders("open-orders", c.open_tickets || []);
    fillOrders("recent-orders", c.recent_tickets || []);
  }

  function fillOrders(id, list) {
    const ul = $(id);
    ul.replaceChildren();
    for (const tk of list) {
      const li = document.createElement("li");
      li.dataset.ticket = tk.id;
      li.setAttribute("aria-selected", S.ticket && S.ticket.id === tk.id ? "true" : "false");
      const idEl = document.createElement("span");
      idEl.className = "mono";
      idEl.textContent = tk.id;
      const type = document.createElement("span");
      type.textContent = nm("type", tk.type);
      const st = document.createElement("span");
      st.className = "tag";
      st.textContent = nm("status", tk.status);
      li.append(idEl, type, st);
      li.addEventListener("click", () => openTicket(tk.id));
      ul.append(li);
    }
  }

  // ---------------------------------------------------------- work order
  async function openTicket(id) {
    try {
      S.ticket = await api("GET", ticketPath(id));
    } catch (e) {
      toast(e.message, "error");
      return;
    }
    renderOrder();
    renderPop();
  }

  function renderOrder() {
    const tk = S.ticket, root = $("order");
    root.dataset.ticket = tk ? tk.id : "";
    $("order-empty").hidden = !!tk;
    $("order-body").hidden = !tk;
    $("order-id").textContent = tk ? tk.id : "";
    $("order-status").textContent = tk ? nm("status", tk.status) : "";
    if (!tk) return;
    root.dataset.status = tk.status;
    setField(root, "type", nm("type", tk.type), tk.type);
    const cls = S.tax && tk.class ? S.tax.classes.find((c) => c.id === tk.class) : null;
    const subj = S.tax && tk.subject ? S.tax.subjects.concat(S.tax.report_subjects).find((s) => s.id === tk.subject) : null;
    setField(root, "taxonomy", [cls ? taxName("class", cls) : tk.class, subj ? taxName("subject", subj) : tk.subject].filter(Boolean).join(" / "));
    setField(root, "grade", tk.grade);
    setField(root, "assigned_to", tk.assigned_to);
    setField(root, "result", tk.result ? nm("result", tk.result) : "");
    setField(root, "answer_by", when(tk.answer_by));
    const graded = tk.type === "complaint", reported = tk.type === "report";
    $("act-classify").hidden = !(graded || reported);
    $("cls-class").hidden = !graded;
    $("cls-grade").hidden = !graded;
    fillSubjects(tk.type, tk.class, tk.subject);
    if (graded && tk.class) $("cls-class").value = tk.class;
    if (graded && tk.grade) $("cls-grade").value = tk.grade;
    const body = $("audit").tBodies[0];
    body.replaceChildren();
    for (const a of (tk.audit || []).slice().reverse()) {
      const tr = document.createElement("tr");
      tr.dataset.action = a.action;
      const statusy = (v) => (NAMES.status[v] ? nm("status", v) : v);
      const change = a.from || a.to ? statusy(a.from || "") + " → " + statusy(a.to || "") : "";
      for (const [text, cls] of [[when(a.at), ""], [a.actor, ""], [nm("action", a.action), ""], [change, ""], [a.note, "note"]]) {
        const td = document.createElement("td");
        td.textContent = text || "";
        if (cls) td.className = cls;
        tr.append(td);
      }
      body.append(tr);
    }
  }

  function option(sel, value, label) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    sel.append(o);
  }

  function fillSubjects(type, cls, current) {
    const sel = $("cls-subject");
    sel.replaceChildren();
    option(sel, "", t("pick_subject"));
    if (!S.tax) return;
    const list = type === "report" ? S.tax.report_subjects : S.tax.subjects.filter((s) => !cls || s.class === cls);
    for (const s of list) option(sel, s.id, taxName("subject", s));
    if (current) sel.value = current;
  }

  function fillSelects() {
    if (!S.tax) return;
    const keep = (id) => $(id).value;
    const fill = (id, items, label, first) => {
      const sel = $(id), v = keep(id);
      sel.replaceChildren();
      if (first) option(sel, "", first);
      for (const it of items) option(sel, it.id, label(it));
      if (v) sel.value = v;
    };
    fill("pause-reason", S.tax.pause_reasons, choice);
    fill("xfer-queue", (S.tax.transfer_queues || []).map((id) => ({ id })), (q) => nm("queue", q.id));
    fill("wrapup-code", S.tax.wrap_up_codes, choice);
    fill("create-type", S.tax.types.map((id) => ({ id })), (it) => nm("type", it.id));
    fill("cls-class", S.tax.classes, (c) => taxName("class", c), t("pick_class"));
    fill("cls-grade", S.tax.grades.map((id) => ({ id })), (g) => g.id, t("pick_grade"));
    fill("resolve-result", S.tax.results.map((id) => ({ id })).concat([{ id: "other" }]),
      (r) => (r.id === "other" ? t("other_result") : nm("result", r.id)));
    fillSubjects(S.ticket ? S.ticket.type : "complaint", $("cls-class").value, $("cls-subject").value);
  }

  // act applies one action to the open work order and shows the result.
  async function act(body, done) {
    if (!S.ticket) return false;
    try {
      S.ticket = await api("POST", ticketPath(S.ticket.id, "/actions"), body);
      renderOrder();
      if (done) toast(t(done));
      return true;
    } catch (e) {
      toast(e.message, "error");
      return false;
    }
  }

  async function addNote() {
    const text = $("note-text").value.trim();
    if (!text) { toast(t("need_note"), "error"); return; }
    if (await act({ action: "note", note: text }, "done_note")) $("note-text").value = "";
  }

  async function classify() {
    const tk = S.ticket, subject = $("cls-subject").value;
    // {"action":"classify","class":"service","subject":"staff_attitude","grade":"IV"};
    // a report has a subject only.
    const body = { action: "classify" };
    if (tk.type === "complaint") {
      body.class = $("cls-class").value;
      if (!body.class) { toast(t("need_class"), "error"); return; }
    }
    body.subject = subject;
    if (tk.type === "complaint" && $("cls-grade").value) body.grade = $("cls-grade").value;
    if (!subject) { toast(t("need_class"), "error"); return; }
    await act(body, "done_classify");
  }

  async function assign(kind) {
    const to = $("assign-to").value.trim();
    if (!to) { toast(t("need_to"), "error"); return; }
    if (kind === "assign" && S.ticket.status === "accepted" && !(await act({ action: "register" }))) return;
    await act({ action: kind, assign_to: to }, kind === "assign" ? "done_assign" : "done_transfer");
  }

  // resolve takes the order through the steps it still needs first:
  // register, assign (to this agent), start.
  async function resolve() {
    let result = $("resolve-result").value;
    const note = $("resolve-note").value.trim();
    if (result === "other") {
      if (!note) { toast(t("need_note"), "error"); return; }
      result = note;
    }
    const steps = { accepted: { action: "register" }, registered: { action: "assign", assign_to: S.me.agent },
      assigned: { action: "start" } };
    for (let i = 0; i < 3 && steps[S.ticket.status]; i++) {
      if (!(await act(steps[S.ticket.status]))) return;
    }
    if (await act({ action: "resolve", result, note }, "done_resolve")) $("resolve-note").value = "";
  }

  async function createOrder() {
    const c = S.caller;
    if (!c || !c.phone) { toast(t("need_caller"), "error"); return; }
    const body = { type: $("create-type").value, channel: "95598", phone: c.phone, note: $("create-note").value.trim(),
      named: $("create-named").checked, account: c.account || "", name: c.name || "", address: c.address || "", area: c.area || "" };
    try {
      const tk = await api("POST", "/api/v1/tickets", body);
      $("create-note").value = "";
      toast(t("done_create", { id: tk.id }));
      S.ticket = tk;
      renderOrder();
      await refreshCaller();
    } catch (e) {
      toast(e.message, "error");
    }
  }

  async function wrapUp() {
    const code = $("wrapup-code").value;
    try {
      const r = await api("POST", agentPath("/wrapup"), { code });
      const c = S.tax.wrap_up_codes.find((x) => x.id === r.wrap_up_code);
      $("wrapup-done").textContent = t("wrapup_done", { code: c ? choice(c) : r.wrap_up_code, call: r.call_id });
    } catch (e) {
      toast(e.message, "error");
    }
  }

  // ---------------------------------------------------------------- wiring
  function init() {
    S.lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
    $("signin-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const tok = $("token").value.trim();
      $("token").value = "";
      if (tok) signIn(tok);
    });
    $("btn-lang").addEventListener("click", () => {
      S.lang = S.lang === "en" ? "zh" : "en";
      localStorage.setItem(LANG_KEY, S.lang);
      applyI18n();
    });
    $("btn-signout").addEventListener("click", () => signOut(""));
    $("btn-login").addEventListener("click", () => agentAction("login"));
    $("btn-ready").addEventListener("click", () => agentAction("ready"));
    $("btn-pause").addEventListener("click", () => agentAction("pause", { reason: $("pause-reason").value }));
    $("btn-logout").addEventListener("click", () => agentAction("logout"));
    $("btn-note").addEventListener("click", addNote);
    $("btn-classify").addEventListener("click", classify);
    $("cls-class").addEventListener("change", () => fillSubjects(S.ticket ? S.ticket.type : "complaint", $("cls-class").value, ""));
    $("btn-assign").addEventListener("click", () => assign("assign"));
    $("btn-transfer").addEventListener("click", () => assign("transfer"));
    $("btn-resolve").addEventListener("click", resolve);
    $("btn-create").addEventListener("click", createOrder);
    $("btn-wrapup").addEventListener("click", wrapUp);
    window.DeskTransfer.init({ $, S, t, nm, api, toast, option, openTicket, renderPop });
    applyI18n();
    setConn("off");
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) signIn(saved);
    document.body.dataset.ready = "true"; // the page's handlers are in place
  }
  init();
})();
