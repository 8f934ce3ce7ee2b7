// The console's words in English and Simplified Chinese. The browser's
// language chooses; the header button switches (kept for the session).
const words = {
  en: {
    switch_language: "中文", queue: "Queue", sign_out: "Sign out", sign_in: "Sign in",
    tenant: "Registrar (tenant)", username: "Username", password: "Password",
    bad_credentials: "The username or password is wrong.",
    locked: "Too many failed sign-ins. Try again in {s} seconds.",
    must_change: "Your password was set by an administrator. Choose your own before you go on.",
    current_password: "Current password", new_password: "New password", change_password: "Change password",
    status: "Status", kind: "Kind", assignee: "Assigned", all: "All", mine: "Mine", unassigned: "Unassigned",
    sla_breached: "SLA breached only", apply: "Apply", number: "Number", filing_number: "Filing number",
    created: "Submitted", sla: "SLA", next: "Next page", first: "First page", empty: "No tickets here.",
    overdue: "overdue", left: "left", flagged: "repeated mismatches",
    pending_review: "pending review", in_review: "in review", awaiting_second_approval: "awaiting second approval",
    needs_info: "needs information", resolved: "resolved", rejected: "rejected", cancelled: "cancelled", expired: "expired",
    password_reset: "password reset", initial_password_resend: "initial password resend", contact_change: "contact change",
    verification: "Verification (never the stored values)", filing_found: "Filing on file", contact_name: "Contact name",
    phone: "Phone", id_number: "ID number", email: "E-mail", subject: "Signed-in subject", console: "Registrar console",
    match: "match", mismatch: "mismatch", absent: "absent", verified: "verified",
    applicant: "Applicant (masked)", new_phone: "New phone", new_email: "New e-mail", message: "Message",
    approvals: "Approvals", of_needed: "{n} of {m} needed", comments: "Comments", internal: "internal", public: "public",
    notifications: "Notifications", audit: "Audit trail", audit_admins_only: "The audit trail is shown to tenant admins.",
    claim: "Claim", release: "Release", comment: "Add comment", request_info: "Request information",
    approve: "Approve", reject: "Reject", reason: "Reason (the applicant reads it)", note: "Note (optional)",
    comment_body: "Comment", visibility: "Visibility", send: "Send", back: "Back to the queue",
    held_by_you: "You hold this ticket.", held_by_other: "Another reviewer holds this ticket.", nobody_holds: "Nobody holds this ticket.",
    e_held_by_another: "Another reviewer holds this ticket; it is theirs to decide.",
    e_four_eyes: "Four eyes: you submitted this ticket or approved it already, so someone else must approve it.",
    e_conflict: "The ticket changed meanwhile (someone else acted first). It has been reloaded.",
    e_invalid_transition: "The ticket is no longer in a state that allows this. It has been reloaded.",
    e_not_claimed: "Claim the ticket before deciding on it.",
    e_forbidden: "Your role may not do this.", e_rate_limited: "Too many requests; wait a moment.",
    e_validation_failed: "Please check the input: {d}", e_unauthorized: "Your session has ended; sign in again.",
    e_password_change_required: "Change your password first.", e_network: "The service cannot be reached.",
    e_other: "The service refused: {d}", done: "Done.", version: "Version", reload: "Reload",
  },
  "zh-CN": {
    switch_language: "English", queue: "工单队列", sign_out: "退出", sign_in: "登录",
    tenant: "接入商（租户）", username: "用户名", password: "密码",
    bad_credentials: "用户名或密码错误。",
    locked: "登录失败次数过多，请 {s} 秒后再试。",
    must_change: "您的密码由管理员设置，请先设置自己的密码。",
    current_password: "当前密码", new_password: "新密码", change_password: "修改密码",
    status: "状态", kind: "类型", assignee: "处理人", all: "全部", mine: "我的", unassigned: "未分配",
    sla_breached: "仅显示超时", apply: "筛选", number: "工单号", filing_number: "备案号",
    created: "提交时间", sla: "时限", next: "下一页", first: "第一页", empty: "没有工单。",
    overdue: "已超时", left: "剩余", flagged: "多次信息不符",
    pending_review: "待审核", in_review: "审核中", awaiting_second_approval: "待第二人审批",
    needs_info: "待补充材料", resolved: "已解决", rejected: "已驳回", cancelled: "已撤销", expired: "已过期",
    password_reset: "重置密码", initial_password_resend: "补发初始密码", contact_change: "变更联系方式",
    verification: "核验结果（不显示存档信息）", filing_found: "备案存在", contact_name: "联系人姓名",
    phone: "手机号", id_number: "证件号码", email: "电子邮箱", subject: "备案主体已登录", console: "接入商控制台",
    match: "一致", mismatch: "不一致", absent: "未提供", verified: "已核实",
    applicant: "申请人（已脱敏）", new_phone: "新手机号", new_email: "新邮箱", message: "留言",
    approvals: "审批", of_needed: "需 {m} 人，已 {n} 人", comments: "备注", internal: "内部", public: "公开",
    notifications: "通知", audit: "审计记录", audit_admins_only: "审计记录仅租户管理员可见。",
    claim: "认领", release: "释放", comment: "添加备注", request_info: "要求补充材料",
    approve: "批准", reject: "驳回", reason: "驳回理由（申请人可见）", note: "审批意见（可选）",
    comment_body: "备注内容", visibility: "可见范围", send: "提交", back: "返回队列",
    held_by_you: "此工单由您处理。", held_by_other: "此工单由其他审核员处理。", nobody_holds: "此工单尚无人认领。",
    e_held_by_another: "此工单已由其他审核员认领，应由其处理。",
    e_four_eyes: "四眼原则：您提交过或已批准过此工单，须由其他人批准。",
    e_conflict: "工单已被他人先行处理，已重新加载。",
    e_invalid_transition: "工单当前状态不允许此操作，已重新加载。",
    e_not_claimed: "请先认领工单再作决定。",
    e_forbidden: "您的角色无权执行此操作。", e_rate_limited: "请求过于频繁，请稍候。",
    e_validation_failed: "请检查输入：{d}", e_unauthorized: "会话已结束，请重新登录。",
    e_password_change_required: "请先修改密码。", e_network: "无法连接服务。",
    e_other: "服务拒绝了请求：{d}", done: "已完成。", version: "版本", reload: "刷新",
  },
};

const chosen = sessionStorage.getItem("fd.lang");
export let lang = chosen || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh-CN" : "en");

export function t(key, vars = {}) {
  const s = (words[lang] && words[lang][key]) || words.en[key] || key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : ""));
}

export function switchLanguage() {
  lang = lang === "en" ? "zh-CN" : "en";
  sessionStorage.setItem("fd.lang", lang);
}
