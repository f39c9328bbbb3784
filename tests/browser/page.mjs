// page.mjs — imdb-serve's web page (lib/serve/page.html) in real headless Chromium, driven by
// playwright-core. Run by tests/browser/page.sh, which starts the server and passes:
//   node page.mjs URL SERVER_PID OUTDIR EXPECTED
// where EXPECTED is imdb-predict's "LABEL<TAB>P" for the review typed below. Checks: the
// page loads with its own JavaScript only (every request goes to the server; no CDN),
// typing a review and clicking Classify shows imdb-predict's verdict and probability,
// the explanation chips are the API's n-grams, an example button fills the box and
// classifies it, Ctrl+Enter classifies, an empty box is refused, a 400 answer of the
// real server shows its message, and a server that is down shows a clear error.
// Screenshots go to OUTDIR. Exit status 0 when every check passed, 1 otherwise.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [url, serverPid, outDir, expected] = process.argv.slice(2);
if (!url || !serverPid || !outDir || !expected) {
  console.error("usage: node page.mjs URL SERVER_PID OUTDIR EXPECTED");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const origin = new URL(url).origin;
const REVIEW = "A wonderful, moving film with a superb cast. I loved every minute of it.";
const [wantLabel, wantP] = expected.split("\t");

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok" : "FAIL"}: ${what}`);
  if (!ok) failures++;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The Debian package's binary and the flags this machine needs (no first-run, background
// networking or component updates: the network outside loopback is closed).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  const requests = [];
  const consoleErrors = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  // ---- load: the page, its script and the model line from /health
  const resp = await page.goto(url, { waitUntil: "networkidle" });
  check(resp && resp.status() === 200, `GET / answers 200 (${resp && resp.status()})`);
  check((await page.title()).length > 0, "the page has a title");
  await page.waitForFunction(() => document.getElementById("model").textContent.startsWith("Model: "),
                             null, { timeout: 5000 }).catch(() => {});
  const modelLine = await page.textContent("#model");
  check(/^Model: nblr \(imdb [0-9.]+\)$/.test(modelLine), `the model line from /health: "${modelLine}"`);
  const external = await page.evaluate(() =>
    [...document.querySelectorAll("script[src], link[href], img[src], iframe[src]")]
      .map((e) => e.src || e.href));
  check(external.length === 0, `no script, style or image loaded from elsewhere (${external.join(" ")})`);
  check(await page.evaluate(() => typeof window.fetch === "function"), "the page's own script runs");

  // ---- type a review, click Classify: imdb-predict's verdict
  await page.fill("#review", REVIEW);
  let answer = page.waitForResponse((r) => r.url().endsWith("/v1/predict"));
  await page.click("#go");
  let api = await (await answer).json();
  await page.waitForSelector("#result:not([hidden])", { timeout: 5000 });
  const verdict = await page.textContent("#verdict");
  const prob = await page.textContent("#prob");
  check(verdict === (wantLabel === "pos" ? "Positive" : "Negative"),
        `the verdict "${verdict}" is imdb-predict's ${wantLabel}`);
  check(prob === `P(positive) = ${Number(wantP).toFixed(3)}`,
        `"${prob}" is imdb-predict's P(pos) ${wantP}`);
  check(Math.abs(api.probability - Number(wantP)) < 1e-6, "the API answered imdb-predict's probability");
  const width = await page.$eval("#fill", (e) => parseFloat(e.style.width));
  check(Math.abs(width - 100 * Number(wantP)) < 0.1, `the bar is ${width}% wide`);
  check(await page.$eval(".bar", (e) => e.getAttribute("aria-valuenow")) === String(api.probability),
        "the meter's aria-valuenow is the probability");
  // nblr explains: the page asked for n-grams, and shows the API's, in order.
  const chips = await page.$$eval("#why .chip", (cs) => cs.map((c) => c.textContent));
  check(Array.isArray(api.explain) && api.explain.length > 0, "the page asked for an explanation");
  check(chips.length === (api.explain || []).length &&
        chips.every((c, i) => c.startsWith(api.explain[i].ngram + " ")),
        `the chips are the explanation's n-grams (${chips.join(", ")})`);
  check(await page.isHidden("#error"), "no error shown");
  check(await page.isEnabled("#go"), "Classify is enabled again");
  await page.screenshot({ path: `${outDir}/page-result.png`, fullPage: true });

  // ---- an example: fills the box with its text and classifies it
  const exampleText = (await page.textContent("#examples button >> nth=1")).replace(/\s+/g, " ").trim();
  answer = page.waitForResponse((r) => r.url().endsWith("/v1/predict"));
  await page.click("#examples button >> nth=1");
  api = await (await answer).json();
  await page.waitForFunction((p) => document.getElementById("prob").textContent ===
                             `P(positive) = ${p.toFixed(3)}`, api.probability, { timeout: 5000 });
  check(await page.inputValue("#review") === exampleText, "the example's text is in the box");
  const req = JSON.parse(await (await answer).request().postData());
  check(req.text === exampleText, "the example's text was sent");
  check(await page.textContent("#verdict") === (api.label === "pos" ? "Positive" : "Negative"),
        `the example's verdict is the API's ${api.label}`);
  await page.screenshot({ path: `${outDir}/page-example.png`, fullPage: true });

  // ---- Ctrl+Enter in the box classifies
  await page.fill("#review", "Dull, boring and far too long. A waste of time.");
  answer = page.waitForResponse((r) => r.url().endsWith("/v1/predict"), { timeout: 5000 });
  await page.press("#review", "Control+Enter");
  api = await (await answer).json().catch(() => null);
  check(api !== null, "Ctrl+Enter sent the review");
  if (api) {
    await page.waitForFunction((p) => document.getElementById("prob").textContent ===
                               `P(positive) = ${p.toFixed(3)}`, api.probability, { timeout: 5000 })
      .catch(() => {});
    check(await page.textContent("#prob") === `P(positive) = ${api.probability.toFixed(3)}`,
          "Ctrl+Enter shows the answer");
  }
  // A plain Enter is a new line, not a request.
  const before = requests.length;
  await page.press("#review", "Enter");
  await sleep(300);
  check(requests.length === before && (await page.inputValue("#review")).endsWith("\n"),
        "a plain Enter adds a line and sends nothing");

  // ---- an empty box is refused without asking the server
  await page.fill("#review", "   ");
  const n0 = requests.length;
  await page.click("#go");
  check(await page.textContent("#error") === "Type a review first." && requests.length === n0,
        "an empty review is refused on the page");

  // ---- the server answers 400: its message is shown. The request leaves the page as it
  // always does and is rewritten on its way to the real server, which refuses it.
  await page.route("**/v1/predict", (route) => route.continue({ postData: '{"text": 5}' }));
  await page.fill("#review", "A fine film.");
  answer = page.waitForResponse((r) => r.url().endsWith("/v1/predict"));
  await page.click("#go");
  const bad = await answer;
  check(bad.status() === 400, `the server answered ${bad.status()}`);
  const msg = (await bad.json()).error;
  await page.waitForSelector("#error:not([hidden])", { timeout: 5000 });
  const shown400 = await page.textContent("#error");
  check(shown400 === `Could not classify: ${msg}`, `the 400's message is shown: "${shown400}"`);
  check(await page.isHidden("#result"), "no stale result next to the error");
  check(await page.isEnabled("#go"), "Classify is enabled after the error");
  await page.screenshot({ path: `${outDir}/page-error-400.png`, fullPage: true });
  await page.unroute("**/v1/predict");

  // ---- the server is down
  process.kill(Number(serverPid), "SIGTERM");
  for (let i = 0; i < 100; i++) {
    try { process.kill(Number(serverPid), 0); } catch { break; }
    await sleep(100);
  }
  let down = false;
  try { process.kill(Number(serverPid), 0); } catch { down = true; }
  check(down, "imdb-serve stopped");
  await page.fill("#review", "A fine film.");
  await page.click("#go");
  // The error of an earlier step may still be shown: wait for this one's text.
  await page.waitForFunction(() => {
    const e = document.querySelector("#error");
    return e && !e.hidden && e.textContent.includes("no answer from the server");
  }, null, { timeout: 10000 }).catch(() => {});
  const shownDown = await page.textContent("#error");
  check(shownDown === "Could not classify: no answer from the server (is imdb-serve still running?)",
        `the server being down is shown: "${shownDown}"`);
  check(await page.isEnabled("#go"), "Classify is enabled after the failure");
  await page.screenshot({ path: `${outDir}/page-server-down.png`, fullPage: true });

  // ---- nothing but the server was asked for anything, and no script error
  const foreign = requests.filter((u) => !u.startsWith(origin + "/"));
  check(foreign.length === 0, `every request went to ${origin} (${foreign.join(" ")})`);
  const netErrors = consoleErrors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED|Failed to fetch/.test(e));
  check(netErrors.length === 0, `no JavaScript error (${netErrors.join(" | ")})`);
} finally {
  await browser.close();
}
console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
