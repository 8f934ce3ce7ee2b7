// The reviewer workbench in headless Chromium. Two reviewers work a
// forgot-password ticket from the queue to resolved (four eyes shown) in
// English, and two more browsers whose language is Chinese do the same in
// zh-CN; a second reviewer's first sign-in changes the password an admin
// set; a claim race shows the loser why (409 in words); the token is
// refreshed before it expires (the browser's clock driven, not waited
// for); a tenant admin searches a filing and issues its initial password,
// creates and disables staff, saves settings (a refusal shown in place),
// retries a dead notification, verifies and exports the audit log.
// Fails on any console error or CSP violation, on a token in localStorage,
// on personal data in a URL or title. Screenshots go to SHOT_DIR.
// Usage: node console.mjs BASE_URL REVIEWER_PASSWORD SECOND_PASSWORD SHOT_DIR
// (env TICKETS: the ticket numbers, ADMIN_PASSWORD: the tenant admin's)
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const [base, ritaPassword, robInitial, shots] = process.argv.slice(2);
const ROB_CHOSEN = "Second-Reviewer-Chosen-2026";
// URLs carry ids only: not even a masked value or a filing number.
const PERSONAL = /138\d{8}|139\d{8}|11010519491231002X|@example\.com|ICP/;
// What was typed or is on file, unmasked (masked forms are fine in a body).
const RAW = /13800138000|13900001111|13700002222|11010519491231002X|demo-subject@example\.com/;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const problems = [];
const urls = [];
const pages = [];

async function person(name, locale = "en-US", { clock = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale, acceptDownloads: true });
  if (clock) await context.clock.install();
  const page = await context.newPage();
  // The API's refusals the test provokes (the claim race's 409, the
  // settings' 422, the guessed password's 401 and 423) are logged by the browser as failed loads: expected,
  // and nothing else is.
  const expected = (text) => /status of (401|409|422|423)/.test(text);
  page.on("console", (m) => { if (m.type() === "error" && !expected(m.text())) problems.push(`${name} console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`${name} page error: ${e.message}`));
  page.on("framenavigated", (f) => urls.push(f.url()));
  pages.push([name, page]);
  return page;
}
async function signIn(page, username, password) {
  await page.goto(`${base}/console/`, { waitUntil: "networkidle" });
  await page.fill("#signin [name=tenant]", "demo");
  await page.fill("#signin [name=username]", username);
  await page.fill("#signin [name=password]", password);
  await page.click("#signin button[type=submit]");
}
async function openTicket(page, number) {
  await page.goto(`${base}/console/#/queue`);
  await page.waitForSelector("#queue");
  await page.click(`#queue tr.row:has-text("${number}")`);
  await page.waitForSelector("#verification");
}
async function expectStatus(page, want) {
  await page.waitForFunction((w) => document.querySelector("#ticket-status")?.textContent.trim() === w, want, { timeout: 10000 });
}
async function noticeSays(page, text) {
  await page.waitForFunction((w) => document.querySelector("#notice")?.textContent.includes(w), text, { timeout: 10000 });
}
// Polls from here rather than in the page, whose timers a test may have
// taken over; gives up at the deadline.
async function until(check, what, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out: ${what}`);
}
const token = (page) => page.evaluate(() => JSON.parse(sessionStorage.getItem("fd.session") || "{}").access);
function must(cond, what) { if (!cond) throw new Error(what); console.log(`  ok: ${what}`); }

// Two reviewers resolve one forgot-password ticket in the console's words
// for `lang`; `first` and `second` are signed in already.
async function fourEyes(first, second, number, words) {
  await openTicket(first, number);
  const matrix = await first.textContent("#verification");
  must(matrix.includes(words.match) && !RAW.test(matrix), `[${words.lang}] the verification matrix shows match/mismatch, never the stored values`);
  must(await first.isDisabled("#do-approve"), `[${words.lang}] approve is disabled before claiming`);
  await first.click("#do-claim");
  await first.waitForSelector("#do-approve:not([disabled])");
  await first.fill("#action-text", words.internalNote);
  await first.click("#do-comment");
  await first.waitForSelector("#comments li.internal");
  await first.selectOption("#comment-visibility", "public");
  await first.fill("#action-text", words.publicNote);
  await first.click("#do-comment");
  await first.waitForSelector("#comments li.public");
  const comments = await first.textContent("#comments");
  must(comments.includes(words.internal) && comments.includes(words.public), `[${words.lang}] internal and public comments are told apart`);
  await first.click("#do-approve");
  await expectStatus(first, words.awaiting);
  must(await first.isDisabled("#do-approve") && await first.isDisabled("#do-claim"), `[${words.lang}] four eyes: the first reviewer cannot approve twice`);
  must((await first.textContent("#approvals")).includes(words.oneOfTwo), `[${words.lang}] approvals: ${words.oneOfTwo}`);
  await first.screenshot({ path: `${shots}/console-four-eyes-${words.lang}.png`, fullPage: true });
  await openTicket(second, number);
  await second.click("#do-claim");
  await second.waitForSelector("#do-approve:not([disabled])");
  await second.click("#do-approve");
  await expectStatus(second, words.resolved);
  must((await second.textContent("#ticket-notifications")).includes("sms"), `[${words.lang}] the resolved ticket lists its notifications`);
  must(true, `[${words.lang}] two reviewers resolved the forgot-password ticket`);
  await second.screenshot({ path: `${shots}/console-resolved-${words.lang}.png`, fullPage: true });
}

let failed = false;
try {
  const [first, second, third] = JSON.parse(process.env.TICKETS);
  const EN = { lang: "en", match: "match", internal: "internal", public: "public", awaiting: "awaiting second approval",
    oneOfTwo: "1 of 2 needed", resolved: "resolved", internalNote: "ID photo checked against the filing.", publicNote: "We are on it." };
  const ZH = { lang: "zh-CN", match: "一致", internal: "内部", public: "公开", awaiting: "待第二人审批",
    oneOfTwo: "需 2 人，已 1 人", resolved: "已解决", internalNote: "已核对证件照片。", publicNote: "正在处理，请稍候。" };

  // English: rita signs in and finds the ticket in the queue.
  const rita = await person("rita");
  const rob = await person("rob");
  await signIn(rita, "demo-reviewer", ritaPassword);
  await rita.waitForSelector("#queue");
  must((await rita.textContent("#queue")).includes(first), "the queue lists the ticket");
  // Rob's first sign-in: the password an admin set must be changed.
  await signIn(rob, "rob", robInitial);
  await rob.waitForSelector("#change-password");
  await rob.fill("#change-password [name=new_password]", ROB_CHOSEN);
  await rob.click("#change-password button[type=submit]");
  await rob.waitForSelector("#queue");
  must(true, "rob changed the admin-set password and reached the queue");
  await fourEyes(rita, rob, first, EN);

  // A race: both open the second ticket; rita claims first, rob's claim is refused in words.
  await openTicket(rita, second);
  await openTicket(rob, second);
  await rita.click("#do-claim");
  await rita.waitForSelector("#do-release:not([disabled])");
  await rob.click("#do-claim");
  await noticeSays(rob, "Another reviewer holds this ticket");
  must(true, "the loser of a claim race is told: another reviewer holds this ticket");
  // The console reloads the ticket after showing the refusal: wait for that
  // reload (the button is replaced) rather than reading the old one.
  await rob.waitForSelector("#do-claim[disabled]", { timeout: 10000 }).catch(() => {});
  must(await rob.isDisabled("#do-claim"), "and the reloaded ticket no longer offers the claim");
  await rob.screenshot({ path: `${shots}/console-race.png`, fullPage: true });

  // 中文: browsers whose language is Chinese get the console in Chinese
  // and resolve the third ticket in it.
  const li = await person("li", "zh-CN");
  const wang = await person("wang", "zh-CN");
  await signIn(li, "demo-reviewer", ritaPassword);
  await li.waitForSelector("#queue");
  must(await li.evaluate(() => document.documentElement.lang) === "zh-CN" && (await li.textContent("h1")) === "工单队列",
    "a Chinese browser gets the console in zh-CN");
  await signIn(wang, "rob", ROB_CHOSEN);
  await wang.waitForSelector("#queue");
  await fourEyes(li, wang, third, ZH);
  // The switch works both ways and is kept for the session.
  await wang.click("#lang");
  await wang.waitForFunction(() => document.querySelector("#do-release, #do-claim")?.textContent === "Claim");
  await wang.reload();
  await wang.waitForSelector("#verification");
  must((await wang.textContent("#verification")).includes("Verification"), "the language switch holds across a reload");

  // The queue: keyset pages, flagged tickets marked, filters.
  await rita.goto(`${base}/console/#/queue`);
  await rita.waitForSelector("#queue tr.row");
  // By keyboard: Tab reaches the rows, Enter opens one.
  await rita.focus("#next-page");
  for (let i = 0; i < 5 && !(await rita.evaluate(() => document.activeElement?.matches("tr.row"))); i++) await rita.keyboard.press("Shift+Tab");
  const focused = await rita.evaluate(() => document.activeElement?.matches("tr.row") && document.activeElement.dataset.id);
  must(!!focused, "the queue's rows are reached with the keyboard");
  await rita.keyboard.press("Enter");
  await rita.waitForSelector("#verification");
  must(rita.url().endsWith(`#/ticket/${focused}`), "Enter opens the focused ticket");
  await rita.goto(`${base}/console/#/queue`);
  await rita.waitForSelector("#queue tr.row");
  must(await rita.locator("#queue tr.row").count() === 25 && await rita.isEnabled("#next-page"), "the first page holds 25 tickets and offers the next");
  must(await rita.locator("#queue tr.row .badge.flag").count() > 0, "tickets after repeated mismatches are flagged");
  const firstRow = await rita.textContent("#queue tr.row");
  await rita.click("#next-page");
  await rita.waitForFunction(() => document.querySelectorAll("#queue tr.row").length === 2);
  must(await rita.isDisabled("#next-page"), "the second page holds the last 2 and ends there");
  await rita.click("#queue-first");
  await rita.waitForFunction((r) => document.querySelector("#queue tr.row")?.textContent === r, firstRow);
  await rita.selectOption("#f-status", "resolved");
  await rita.click("#filters button[type=submit]");
  await rita.waitForFunction(() => document.querySelectorAll("#queue tr.row").length === 2);
  const resolvedRows = await rita.textContent("#queue");
  must(resolvedRows.includes(first) && resolvedRows.includes(third) && !resolvedRows.includes(second), "the status filter shows the two resolved tickets");
  await rita.selectOption("#f-status", "");
  await rita.selectOption("#f-assignee", "me");
  await rita.click("#filters button[type=submit]");
  await rita.waitForFunction(() => document.querySelectorAll("#queue tr.row").length === 1);
  must((await rita.textContent("#queue")).includes(second), "'mine' shows the ticket rita holds");
  await rita.selectOption("#f-assignee", "none");
  await rita.check("#f-sla");
  await rita.click("#filters button[type=submit]");
  await rita.waitForSelector("#queue td.muted");
  must(true, "'SLA breached only' shows none: nothing is overdue yet");
  await rita.screenshot({ path: `${shots}/console-queue.png`, fullPage: true });

  // Where the token is kept, and what URLs and titles carry.
  const stores = await rita.evaluate(() => ({ local: JSON.stringify(localStorage), session: sessionStorage.getItem("fd.session") || "" }));
  must(!stores.local.includes("access") && stores.session.includes("access"), "the token is in sessionStorage, not localStorage");
  must(urls.filter((u) => PERSONAL.test(decodeURIComponent(u))).length === 0, `no personal data in URLs (${urls.length} checked)`);
  must(!(await rita.title()).match(/\d{11}/), "no personal data in the title");

  // A tenant admin, in a browser whose clock the test drives.
  const admin = await person("admin", "en-US", { clock: true });
  await signIn(admin, "demo-admin", process.env.ADMIN_PASSWORD);
  await admin.waitForSelector("#queue");
  // The refresh timer fires a minute before the 15-minute token expires.
  const before = await token(admin);
  await admin.clock.fastForward("14:05");
  await until(async () => (await token(admin)) && (await token(admin)) !== before, "the timer refreshed the token");
  must(true, "the console refreshed the token before it expired");
  // A tab whose timers were held back (a sleeping laptop): the clock jumps
  // without firing them, and the next request refreshes first.
  const middle = await token(admin);
  const pageNow = await admin.evaluate(() => Date.now());
  await admin.clock.pauseAt(pageNow + 1000);
  await admin.clock.setSystemTime(pageNow + 14.5 * 60000);
  await admin.click('a[href="#/filings"]');
  await admin.waitForSelector("#filing-search");
  await until(async () => (await token(admin)) !== middle, "the request refreshed the token first");
  must(await admin.isHidden("#signin"), "a request with an old token refreshes it first and the admin stays signed in");
  await admin.clock.resume();

  // Filings: search (kept out of URLs), detail, initial password with the
  // confirmation the API asks for when the subject chose one.
  await admin.fill("#filing-q", "京ICP备00000001");
  await admin.click("#filing-search button[type=submit]");
  await admin.click('#filings tr.row:has-text("00000001")');
  await admin.click("#issue-initial");
  await admin.waitForFunction(() => document.querySelector("#confirm-replace") || document.querySelector("#notice.ok")?.textContent);
  if (await admin.$("#confirm-replace")) await admin.click("#confirm-replace");
  await noticeSays(admin, "initial password");
  must(true, "an admin issued an initial password from the filing's page");

  // Staff: a new reviewer, disabled and enabled again.
  await admin.click('a[href="#/staff"]');
  await admin.waitForSelector("#new-staff");
  await admin.fill("#new-staff [name=username]", "sam");
  await admin.fill("#new-staff [name=display_name]", "Sam");
  await admin.fill("#new-staff [name=email]", "sam@example.org");
  await admin.fill("#new-staff [name=password]", "Third-Reviewer-Initial-7");
  await admin.click("#new-staff button[type=submit]");
  await admin.waitForSelector('#staff tr:has-text("sam")');
  await admin.click('#staff tr:has-text("sam") button');
  await admin.waitForSelector('#staff tr:has-text("sam"):has-text("disabled")');
  await admin.click('#staff tr:has-text("sam") button');
  await admin.waitForSelector('#staff tr:has-text("sam"):has-text("active")');
  must(true, "an admin created a reviewer, disabled and enabled them");
  // Sam's password is guessed: after the failures the account locks, and
  // the console says for how long.
  const guesser = await person("guesser");
  await guesser.goto(`${base}/console/`, { waitUntil: "networkidle" });
  await until(async () => {
    await guesser.fill("#signin [name=tenant]", "demo");
    await guesser.fill("#signin [name=username]", "sam");
    await guesser.fill("#signin [name=password]", "Not-Sams-Password-1");
    await guesser.click("#signin button[type=submit]");
    await guesser.waitForFunction(() => document.querySelector("#notice")?.textContent);
    const said = await guesser.textContent("#notice");
    if (!said.includes("Too many failed sign-ins")) must(said.includes("username or password is wrong"), "a wrong password is told as such");
    await guesser.evaluate(() => { document.querySelector("#notice").textContent = ""; });
    return said.includes("Too many failed sign-ins");
  }, "the account locks", 30000);
  must(true, "a locked account is told when to try again");

  // Settings: every group is there; a refusal is shown next to its field;
  // a valid change is saved and read back.
  await admin.click('a[href="#/settings"]');
  await admin.waitForSelector("#settings");
  for (const id of ["password_policy", "initial_password_length", "reset_link_ttl_hours", "generated_password_ttl_hours",
    "needs_info_expiry_hours", "lockout_threshold", "lockout_minutes", "audit_retention_days", "password_max_age_days",
    "sms_budget.per_day", "rate_limits.per_filing_per_hour", "approvals_required.contact_change", "sla_hours.password_reset"]) {
    must(await admin.$(`[id="set-${id}"]`), `the settings page has ${id}`);
  }
  await admin.fill('[id="set-password_max_age_days"]', "10");
  await admin.click("#settings button[type=submit]");
  await admin.waitForFunction(() => [...document.querySelectorAll(".field-error")].some((e) => e.textContent.includes("password_max_age_days")));
  must(true, "a refused setting is explained next to its field");
  await admin.fill('[id="set-password_max_age_days"]', "90");
  await admin.selectOption('[id="set-reset_mode"]', "link");
  await admin.fill('[id="set-sla_hours.password_reset"]', "12");
  await admin.click("#settings button[type=submit]");
  await noticeSays(admin, "Settings saved");
  await admin.reload();
  await admin.waitForSelector("#settings");
  must(await admin.inputValue('[id="set-reset_mode"]') === "link" && await admin.inputValue('[id="set-sla_hours.password_reset"]') === "12"
    && await admin.inputValue('[id="set-password_max_age_days"]') === "90", "the saved settings read back");

  // Notifications: the SMS gateway is unreachable, so the SMS gave up;
  // the admin finds it and queues it again.
  await admin.click('a[href="#/notifications"]');
  await admin.waitForSelector("#notification-filter");
  await admin.selectOption("#notification-filter select", "dead");
  await until(async () => {
    await admin.click("#notification-filter button[type=submit]");
    return !!(await admin.waitForSelector('#notifications tr[data-status="dead"][data-kind="initial_password"] button.retry', { timeout: 1000 }).catch(() => null));
  }, "a dead notification is listed");
  // A password's message gave up and its secret was scrubbed: the retry is
  // refused in words; a message without a secret goes again.
  await admin.click('#notifications tr[data-status="dead"][data-kind="initial_password"] button.retry');
  await noticeSays(admin, "scrubbed");
  must(true, "retrying a scrubbed password message is refused in words");
  await admin.click('#notifications tr[data-status="dead"][data-kind="ticket_received"] button.retry');
  await noticeSays(admin, "Queued again");
  must(true, "an admin retried a dead notification");
  await admin.screenshot({ path: `${shots}/console-notifications.png`, fullPage: true });

  // The audit log: verify the chain, export it.
  await admin.click('a[href="#/audit"]');
  await admin.click("#verify-chain");
  await admin.waitForFunction(() => document.querySelector("#verify-result")?.textContent.includes("The chain holds"));
  must(true, "the admin verified the audit chain");
  const [download] = await Promise.all([admin.waitForEvent("download"), admin.click("#export-ndjson")]);
  const lines = (await readFile(await download.path(), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
  must(lines.length > 10 && lines.some((l) => l.action === "settings.updated"), `the export downloaded (${lines.length} lines, settings change included)`);
  must(!RAW.test(JSON.stringify(lines)), "the export carries no personal data");
  await admin.screenshot({ path: `${shots}/console-admin.png`, fullPage: true });
  must(urls.filter((u) => PERSONAL.test(decodeURIComponent(u))).length === 0, "the admin's pages left no personal data in URLs either");

  // Sign out ends the session.
  await rita.click("#signout");
  await rita.waitForSelector("#signin");
  must(await rita.evaluate(() => sessionStorage.getItem("fd.session")) === null, "signing out forgets the token");
  must(problems.length === 0, `no console error or CSP violation${problems.length ? `: ${problems.join(" | ")}` : ""}`);
} catch (e) {
  failed = true;
  console.error(`console test failed: ${e.message}`);
  if (problems.length) console.error(problems.join("\n"));
  for (const [name, page] of pages) await page.screenshot({ path: `${shots}/console-failure-${name}.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
