// The reviewer workbench in headless Chromium: two reviewers work a
// forgot-password ticket from the queue to resolved (four eyes shown), a
// second reviewer's first sign-in changes the password an admin set, a
// claim race shows the loser why (409 in words), the language switches.
// Fails on any console error or CSP violation, on a token in localStorage,
// on personal data in a URL or title. Screenshots go to SHOT_DIR.
// Usage: node console.mjs BASE_URL REVIEWER_PASSWORD SECOND_PASSWORD SHOT_DIR
import { chromium } from "playwright-core";

const [base, ritaPassword, robInitial, shots] = process.argv.slice(2);
const ROB_CHOSEN = "Second-Reviewer-Chosen-2026";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const problems = [];
const urls = [];

async function reviewer(name) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "en-US" });
  const page = await context.newPage();
  // The API's refusals the test provokes (the claim race's 409) are logged
  // by the browser as failed loads: expected, and nothing else is.
  const expected = (text) => /status of 409/.test(text);
  page.on("console", (m) => { if (m.type() === "error" && !expected(m.text())) problems.push(`${name} console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`${name} page error: ${e.message}`));
  page.on("framenavigated", (f) => urls.push(f.url()));
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
async function status(page) { return (await page.textContent("#ticket-status")).trim(); }
async function expectStatus(page, want) {
  await page.waitForFunction((w) => document.querySelector("#ticket-status")?.textContent.trim() === w, want, { timeout: 10000 });
}
function must(cond, what) { if (!cond) throw new Error(what); console.log(`  ok: ${what}`); }

let failed = false;
const rita = await reviewer("rita");
const rob = await reviewer("rob");
try {
  const [first, second] = JSON.parse(process.env.TICKETS);
  // Rita signs in and finds the ticket in the queue.
  await signIn(rita, "demo-reviewer", ritaPassword);
  await rita.waitForSelector("#queue");
  must((await rita.textContent("#queue")).includes(first), "the queue lists the ticket");
  await openTicket(rita, first);
  const matrix = await rita.textContent("#verification");
  must(matrix.includes("match") && !matrix.includes("13800138000") && !matrix.includes("11010519491231002X"),
    "the verification matrix shows match/mismatch, never the stored values");
  must(await rita.isDisabled("#do-approve"), "approve is disabled before claiming");
  await rita.click("#do-claim");
  await rita.waitForSelector("#do-approve:not([disabled])");
  await rita.click("#do-approve");
  await expectStatus(rita, "awaiting second approval");
  must(await rita.isDisabled("#do-approve") && await rita.isDisabled("#do-claim"), "four eyes: rita cannot approve twice");
  must((await rita.textContent("#approvals")).includes("1 of 2"), "approvals: 1 of 2 needed");
  await rita.screenshot({ path: `${shots}/console-four-eyes.png`, fullPage: true });

  // Rob's first sign-in: the password an admin set must be changed.
  await signIn(rob, "rob", robInitial);
  await rob.waitForSelector("#change-password");
  await rob.fill("#change-password [name=new_password]", ROB_CHOSEN);
  await rob.click("#change-password button[type=submit]");
  await rob.waitForSelector("#queue");
  must(true, "rob changed the admin-set password and reached the queue");
  await openTicket(rob, first);
  await rob.click("#do-claim");
  await rob.waitForSelector("#do-approve:not([disabled])");
  await rob.click("#do-approve");
  await expectStatus(rob, "resolved");
  must(true, "two reviewers resolved the ticket");
  await rob.screenshot({ path: `${shots}/console-resolved.png`, fullPage: true });

  // A race: both open the second ticket; rita claims first, rob's claim is refused in words.
  await openTicket(rita, second);
  await openTicket(rob, second);
  await rita.click("#do-claim");
  await rita.waitForSelector("#do-release:not([disabled])");
  await rob.click("#do-claim");
  await rob.waitForFunction(() => document.querySelector("#notice")?.textContent.includes("Another reviewer holds this ticket"));
  must(true, "the loser of a claim race is told: another reviewer holds this ticket");
  must(await rob.isDisabled("#do-claim"), "and the reloaded ticket no longer offers the claim");
  await rob.screenshot({ path: `${shots}/console-race.png`, fullPage: true });

  // 中文.
  await rob.click("#lang");
  await rob.waitForFunction(() => document.querySelector("#do-release")?.textContent === "释放");
  must((await rob.textContent("#verification")).includes("核验结果"), "the console speaks zh-CN after the switch");
  await rob.screenshot({ path: `${shots}/console-zh.png`, fullPage: true });

  // Where the token is kept, and what URLs and titles carry.
  const stores = await rita.evaluate(() => ({ local: JSON.stringify(localStorage), session: sessionStorage.getItem("fd.session") || "" }));
  must(!stores.local.includes("access") && stores.session.includes("access"), "the token is in sessionStorage, not localStorage");
  const leaked = urls.filter((u) => /138\d{8}|11010519491231002X|@example\.com|ICP/.test(decodeURIComponent(u)));
  must(leaked.length === 0, `no personal data in URLs (${urls.length} checked)`);
  must(!(await rita.title()).match(/\d{11}/), "no personal data in the title");

  // A tenant admin: a filing found by search, its initial password issued
  // (with the confirmation the API asks for when the subject chose one),
  // the chain verified, the notification list read.
  const admin = await reviewer("admin");
  await signIn(admin, "demo-admin", process.env.ADMIN_PASSWORD);
  await admin.waitForSelector("#queue");
  await admin.click('a[href="#/filings"]');
  await admin.fill("#filing-q", "京ICP备00000001");
  await admin.click("#filing-search button[type=submit]");
  await admin.click('#filings tr.row:has-text("00000001")');
  await admin.click("#issue-initial");
  await admin.waitForFunction(() => document.querySelector("#confirm-replace") || document.querySelector("#notice.ok")?.textContent);
  if (await admin.$("#confirm-replace")) await admin.click("#confirm-replace");
  await admin.waitForFunction(() => document.querySelector("#notice.ok")?.textContent.includes("initial password"));
  must(true, "an admin issued an initial password from the filing's page");
  await admin.click('a[href="#/audit"]');
  await admin.click("#verify-chain");
  await admin.waitForFunction(() => document.querySelector("#verify-result")?.textContent.includes("The chain holds"));
  must(true, "the admin verified the audit chain");
  await admin.click('a[href="#/notifications"]');
  await admin.waitForSelector("#notifications");
  must((await admin.textContent("#notifications")).includes("initial_password"), "the notification list shows the initial password's messages");
  await admin.screenshot({ path: `${shots}/console-admin.png`, fullPage: true });
  const leakedLater = urls.filter((u) => /138\d{8}|11010519491231002X|@example\.com|ICP/.test(decodeURIComponent(u)));
  must(leakedLater.length === 0, "the admin's search left no personal data in URLs either");

  // Sign out ends the session.
  await rita.click("#signout");
  await rita.waitForSelector("#signin");
  must(await rita.evaluate(() => sessionStorage.getItem("fd.session")) === null, "signing out forgets the token");
  must(problems.length === 0, `no console error or CSP violation${problems.length ? `: ${problems.join(" | ")}` : ""}`);
} catch (e) {
  failed = true;
  console.error(`console test failed: ${e.message}`);
  if (problems.length) console.error(problems.join("\n"));
  await rita.screenshot({ path: `${shots}/console-failure-rita.png`, fullPage: true }).catch(() => {});
  await rob.screenshot({ path: `${shots}/console-failure-rob.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
