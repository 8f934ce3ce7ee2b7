// Opens the served Swagger UI in headless Chromium, authorizes with a bearer
// token, executes GET /api/v1/settings, and expects a 200 with the tenant's
// settings. Keeps a screenshot. Usage: node swagger-ui.mjs BASE_URL TOKEN SHOT.png
import { chromium } from "playwright-core";

const [base, token, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
let failed = false;
const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
try {
  await page.goto(`${base}/swagger-ui/`, { waitUntil: "networkidle" });
  await page.waitForSelector(".swagger-ui .info .title", { timeout: 15000 });
  const title = await page.textContent(".swagger-ui .info .title");
  if (!title.includes("filingdesk")) throw new Error(`unexpected title: ${title}`);

  await page.click(".scheme-container button.authorize");
  await page.fill(".auth-container input", token);
  await page.click(".auth-btn-wrapper button.authorize");
  await page.click(".auth-btn-wrapper button.btn-done");

  const op = "#operations-settings-get_settings";
  await page.click(`${op} .opblock-summary`);
  await page.click(`${op} button.try-out__btn`);
  await page.click(`${op} button.execute`);
  const status = `${op} .live-responses-table .response .response-col_status`;
  await page.waitForSelector(status, { timeout: 15000 });
  const code = (await page.textContent(status)).trim();
  const body = await page.textContent(`${op} .live-responses-table .response .response-col_description`);
  if (!code.startsWith("200")) throw new Error(`GET /api/v1/settings answered ${code}: ${body}`);
  if (!body.includes("password_policy")) throw new Error(`the settings are not in the answer: ${body}`);
  console.log("Swagger UI: authorized and executed GET /api/v1/settings -> 200");
} catch (e) {
  failed = true;
  console.error(`Swagger UI test failed: ${e.message}`);
} finally {
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  await browser.close();
}
process.exit(failed ? 1 : 0);
