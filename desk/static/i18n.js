// The desk's words, Chinese first, English on the switch. Lists that come
// from the policy (pause reasons, wrap-up codes, taxonomy names) bring their
// own Chinese names; their English names are here, keyed by id, and fall
// back to the id itself.
"use strict";

window.I18N = {
  zh: {
    title: "95598 坐席工作台", login: "签入", ready: "就绪", pause: "小休", logout: "签出", signout: "退出登录",
    conn_off: "未连接", conn_connecting: "连接中", conn_connected: "实时连接", conn_down: "连接中断，重连中",
    signin_title: "坐席登录", signin: "登录", token_ph: "坐席令牌",
    signin_help: "请输入您的坐席令牌（由管理员用 hotline tokens new 生成）。令牌只保存在本标签页中。",
    not_agent: "此令牌不是坐席令牌（角色：{role}）。工作台只供坐席使用。", bad_token: "令牌无效或已吊销。",
    pop_title: "来电弹屏", pop_empty: "暂无来电。来电振铃时这里显示客户信息。", pop_live: "通话中", pop_ringing: "振铃",
    pop_after: "话后处理", pop_last: "上一通来电", pop_callback: "回呼",
    f_phone: "来电号码", f_account: "户号", f_name: "户名", f_address: "地址", f_area: "供电区域", f_class: "客户类别",
    f_age: "年龄段", f_menu: "按键路径", f_queue: "队列", f_priority: "优先级", f_wait: "排队等待",
    open_orders: "在途工单", recent_orders: "近期工单", none: "无",
    order_title: "工单", order_empty: "选择一张工单，或为来电客户新建工单。",
    f_type: "类型", f_taxonomy: "分类", f_grade: "等级", f_assigned: "处理人", f_result: "处理结果", f_deadline: "答复期限",
    note_ph: "通话记录、客户诉求……", add_note: "添加备注", classify: "分类定级", assign_ph: "处理人或班组，如 station-7",
    assign: "派单", transfer: "转派", resolve_ph: "办结说明", resolve: "办结", audit: "处理记录",
    a_time: "时间", a_actor: "操作人", a_action: "操作", a_change: "变更", a_note: "说明",
    create_title: "新建工单", create_ph: "客户诉求", named: "实名", create: "为来电客户建单",
    wrapup_title: "话后小结", wrapup: "提交小结", wrapup_done: "已提交：{code}（通话 {call}）",
    pick_class: "— 分类 —", pick_subject: "— 事项 —", pick_grade: "— 等级 —", other_result: "其他（填写说明）",
    done_note: "备注已添加", done_classify: "已分类", done_assign: "已派单", done_transfer: "已转派", done_resolve: "已办结",
    done_create: "已建工单 {id}", done_state: "状态已更新", need_note: "请先填写内容", need_caller: "当前没有来电客户",
    need_to: "请填写处理人", need_class: "请选择分类和事项", seconds: "{n} 秒", minutes: "{m} 分 {s} 秒",
    since: "自 {t}",
    xfer_tag: "转接", xfer_from: "由坐席 {agent} 从「{queue}」队列转入", xfer_call: "转接至队列",
    done_xfer: "已转接至「{queue}」队列，客户保留原排队位置",
  },
  en: {
    title: "95598 Agent desk", login: "Log in", ready: "Ready", pause: "Pause", logout: "Log out", signout: "Sign out",
    conn_off: "Offline", conn_connecting: "Connecting", conn_connected: "Live", conn_down: "Disconnected, retrying",
    signin_title: "Agent sign-in", signin: "Sign in", token_ph: "Agent token",
    signin_help: "Enter your agent token (an administrator makes it with hotline tokens new). It is kept in this tab only.",
    not_agent: "This is not an agent token (role: {role}). The desk is for agents.", bad_token: "The token is wrong or revoked.",
    pop_title: "Screen pop", pop_empty: "No call. When the phone rings, the caller shows here.", pop_live: "On call",
    pop_ringing: "Ringing", pop_after: "After-call work", pop_last: "Last call", pop_callback: "Callback",
    f_phone: "Caller", f_account: "Account", f_name: "Name", f_address: "Address", f_area: "Area", f_class: "Customer class",
    f_age: "Age group", f_menu: "Keys pressed", f_queue: "Queue", f_priority: "Priority", f_wait: "Waited",
    open_orders: "Open work orders", recent_orders: "Recent work orders", none: "None",
    order_title: "Work order", order_empty: "Pick a work order, or create one for the caller.",
    f_type: "Type", f_taxonomy: "Class", f_grade: "Grade", f_assigned: "Assigned to", f_result: "Result", f_deadline: "Answer by",
    note_ph: "What the caller said, what you did…", add_note: "Add note", classify: "Classify", assign_ph: "Person or team, e.g. station-7",
    assign: "Assign", transfer: "Transfer", resolve_ph: "How it was resolved", resolve: "Resolve", audit: "Audit trail",
    a_time: "Time", a_actor: "By", a_action: "Action", a_change: "Change", a_note: "Note",
    create_title: "New work order", create_ph: "The caller's request", named: "Named reporter", create: "Create for the caller",
    wrapup_title: "Wrap-up code", wrapup: "Save wrap-up", wrapup_done: "Saved: {code} (call {call})",
    pick_class: "— class —", pick_subject: "— subject —", pick_grade: "— grade —", other_result: "Other (write it below)",
    done_note: "Note added", done_classify: "Classified", done_assign: "Assigned", done_transfer: "Transferred", done_resolve: "Resolved",
    done_create: "Work order {id} created", done_state: "State changed", need_note: "Write something first", need_caller: "No caller now",
    need_to: "Say who it goes to", need_class: "Pick a class and a subject", seconds: "{n} s", minutes: "{m} min {s} s",
    since: "since {t}",
    xfer_tag: "Transfer", xfer_from: "Transferred by agent {agent} from the {queue} queue", xfer_call: "Transfer to queue",
    done_xfer: "Transferred to the {queue} queue; the caller keeps their place",
  },
};

// Names of the ids the API sends, in both languages.
window.NAMES = {
  state: {
    logged_out: ["未签入", "Logged out"], available: ["空闲", "Available"], ringing: ["振铃", "Ringing"],
    on_call: ["通话中", "On call"], wrap_up: ["话后处理", "Wrap-up"], paused: ["小休", "Paused"],
  },
  type: {
    fault: ["故障报修", "Fault"], complaint: ["投诉", "Complaint"], report: ["举报", "Report"], consultation: ["咨询", "Consultation"],
    service: ["业务申请", "Service request"], opinion: ["意见", "Opinion"], suggestion: ["建议", "Suggestion"], praise: ["表扬", "Praise"],
  },
  status: {
    accepted: ["已受理", "Accepted"], registered: ["已登记", "Registered"], assigned: ["已派单", "Assigned"],
    in_progress: ["处理中", "In progress"], resolved: ["已办结", "Resolved"], follow_up: ["回访中", "Follow-up"], closed: ["已归档", "Closed"],
  },
  action: {
    accepted: ["受理", "Accepted"], register: ["登记", "Register"], assign: ["派单", "Assign"], transfer: ["转派", "Transfer"],
    start: ["处理", "Start"], resolve: ["办结", "Resolve"], follow_up: ["回访", "Follow-up"], close: ["归档", "Close"],
    urge: ["催办", "Urge"], supervise: ["督办", "Supervise"], reopen: ["重新处理", "Reopen"], escalate: ["升级", "Escalate"],
    note: ["备注", "Note"], merged: ["合并", "Merged"], repeat_call: ["重复来电", "Repeat call"], classify: ["分类定级", "Classify"],
  },
  class: {
    service: "Service", business: "Business and billing", outage: "Outage", supply_quality: "Supply quality",
    grid_construction: "Grid construction",
  },
  subject: {
    meter_seal: "Meter seal", wrong_meter_reading: "Wrong meter reading", wrong_disconnection: "Wrong disconnection",
    unreasonable_tariff: "Unreasonable tariff", staff_attitude: "Staff attitude", work_quality: "Work quality",
    supply_quality: "Supply quality", fault_repair_overdue: "Fault repair overdue", planned_outage: "Planned outage",
    damaged_appliances: "Damaged appliances", late_reconnection: "Late reconnection after arrears",
    unreasonable_charges: "Unreasonable charges", broken_promise: "Broken promise", broken_time_limit: "Broken promised time limit",
    electricity_theft: "Electricity theft and illegal use", other: "Other",
  },
  result: {
    power_restored: ["已恢复供电", "Power restored"], repaired: ["已修复", "Repaired"], explained: ["已解释", "Explained"],
    refunded: ["已退费", "Refunded"],
  },
  queue: {
    fault: ["故障", "Fault"], billing: ["电费", "Billing"], complaint: ["投诉", "Complaint"], general: ["综合", "General"],
    callback: ["回呼", "Callback"], senior: ["长者专席", "Senior"],
  },
  priority: { important: ["重要客户", "Important customer"], repeat: ["有在途工单", "Open work order"], normal: ["普通", "Normal"] },
  customer: {
    residential: ["居民", "Residential"], important: ["重要客户", "Important"], commercial: ["商业", "Commercial"],
    industrial: ["工业", "Industrial"], agricultural: ["农业", "Agricultural"],
  },
  age: { senior: ["长者", "Senior"], older: ["老年", "Older (60+)"], adult: ["成年", "Adult"], minor: ["未成年", "Minor"] },
};
