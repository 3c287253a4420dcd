// Transfers on the agent's desk: blind to another queue, or attended to a
// colleague (consult first, then complete or return). desk.js calls
// DeskTransfer.render with the caller and the pop, and onConsult with the
// consult events of the agent's stream; everything else stays in desk.js.
"use strict";
window.DeskTransfer = (function () {
  let D = null; // desk.js's helpers: $, S, t, nm, api, toast, option, openTicket, renderPop
  let consult = null; // {call_id, to_agent, state} while a consultation runs
  let colleaguesFor = "";

  const callPath = (call) => "/api/v1/calls/" + encodeURIComponent(call) + "/transfer";

  // render shows the transfer controls of a live call the agent is on,
  // and on a transferred caller's pop who passed them on and how.
  function render(c, p) {
    const $ = D.$, S = D.S;
    const xfer = !!(c && p && p.transfer && p.call_id === c.call_id);
    const attended = xfer && p.transfer_kind === "attended";
    $("pop").dataset.transfer = xfer ? "true" : "false";
    $("pop").dataset.transferKind = xfer ? (p.transfer_kind || "blind") : "";
    $("pop-xfer").hidden = !xfer;
    $("pop-xfer").textContent = D.t(attended ? "xfer_attended_tag" : "xfer_tag");
    $("pop-from").hidden = !xfer;
    $("pop-from").textContent = !xfer ? "" : attended ? D.t("xfer_from_agent", { agent: p.from_agent, queue: D.nm("queue", p.from_queue) })
      : D.t("xfer_from", { agent: p.from_agent, queue: D.nm("queue", p.from_queue) });
    const onCall = !!(c && c.live && S.agent && S.agent.state === "on_call" && S.agent.call_id === c.call_id);
    if (consult && (!onCall || consult.call_id !== c.call_id)) consult = null;
    const queues = (S.tax && S.tax.transfer_queues) || [];
    $("act-call-transfer").hidden = !onCall || !!consult || !queues.length;
    $("act-call-consult").hidden = !onCall || !!consult;
    $("act-consulting").hidden = !consult;
    $("act-consulting").dataset.state = consult ? consult.state : "";
    $("consult-status").textContent = consult ? D.t("consult_" + consult.state, { agent: consult.to_agent }) : "";
    $("btn-complete").disabled = !consult || consult.state !== "talking";
    if (onCall && colleaguesFor !== c.call_id) {
      colleaguesFor = c.call_id;
      loadColleagues();
    }
  }

  // loadColleagues fills the list of agents free to be consulted.
  async function loadColleagues() {
    const sel = D.$("xfer-agent"), keep = sel.value;
    try {
      const r = await D.api("GET", "/api/v1/colleagues");
      sel.replaceChildren();
      D.option(sel, "", D.t(r.agents.length ? "pick_colleague" : "no_colleagues"));
      for (const a of r.agents) D.option(sel, a.id, D.t("colleague", { agent: a.id }));
      if (keep) sel.value = keep;
    } catch (e) {
      D.toast(e.message, "error");
    }
  }

  // onConsult follows the consultation: ringing, talking, or how it ended.
  function onConsult(d) {
    const S = D.S;
    if (!S.agent || d.call_id !== S.agent.call_id) return;
    if (d.state === "ringing" || d.state === "talking") {
      consult = { call_id: d.call_id, to_agent: d.to_agent, state: d.state };
    } else {
      consult = null;
      D.toast(D.t("consult_" + d.state, { agent: d.to_agent }), d.state === "completed" || d.state === "returned" ? "ok" : "error");
      colleaguesFor = "";
    }
    D.renderPop();
  }

  // blind passes the caller on to another queue: this agent's leg is hung
  // up and the caller keeps their place in that queue.
  async function blind() {
    const q = D.$("xfer-queue").value, call = D.S.agent && D.S.agent.call_id;
    if (!q || !call) return;
    try {
      await D.api("POST", callPath(call), { queue: q });
      D.toast(D.t("done_xfer", { queue: D.nm("queue", q) }));
      if (D.S.ticket) D.openTicket(D.S.ticket.id); // the audit trail notes the transfer
    } catch (e) {
      D.toast(e.message, "error");
    }
  }

  // consultAgent puts the caller on hold and rings the colleague.
  async function consultAgent() {
    const to = D.$("xfer-agent").value, call = D.S.agent && D.S.agent.call_id;
    if (!to || !call) return;
    try {
      await D.api("POST", callPath(call), { agent: to });
      if (!consult) consult = { call_id: call, to_agent: to, state: "ringing" };
      D.renderPop();
    } catch (e) {
      colleaguesFor = ""; // the list may be stale
      D.toast(e.message, "error");
      D.renderPop();
    }
  }

  // finish completes the transfer or returns to the caller.
  async function finish(step) {
    const call = consult && consult.call_id;
    if (!call) return;
    try {
      await D.api("POST", callPath(call) + "/" + step);
      if (D.S.ticket && step === "complete") D.openTicket(D.S.ticket.id); // the audit trail notes it
    } catch (e) {
      D.toast(e.message, "error");
      consult = null;
      D.renderPop();
    }
  }

  function init(desk) {
    D = desk;
    D.$("btn-xfer").addEventListener("click", blind);
    D.$("btn-consult").addEventListener("click", consultAgent);
    D.$("xfer-agent").addEventListener("focus", loadColleagues);
    D.$("btn-complete").addEventListener("click", () => finish("complete"));
    D.$("btn-return").addEventListener("click", () => finish("cancel"));
  }

  return { init, render, onConsult };
})();
