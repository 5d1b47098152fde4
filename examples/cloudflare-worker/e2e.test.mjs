// End to end: the example worker (src/lib.rs) in workerd. Starts workerd on a free loopback
// port, waits (bounded) until it answers, checks that a response comes before its
// `wait_until` work finishes and that the work does finish, then stops workerd.
// Run by ci/workers.sh after the build: `node --test e2e.test.mjs`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const workerdBin = fileURLToPath(new URL("node_modules/.bin/workerd", import.meta.url));

let workerd;
let base;
let output = "";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

// Polls `check` every 20 ms until it returns true; fails after `ms` naming `what`.
async function waitFor(what, ms, check) {
  const deadline = performance.now() + ms;
  for (;;) {
    if (workerd.exitCode !== null) assert.fail(`workerd exited (${workerd.exitCode}):\n${output}`);
    if (await check()) return;
    if (performance.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}\n${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// GET a path; every request is bounded so that a hang fails the test instead of stalling it.
async function get(path) {
  const res = await fetch(base + path, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  workerd = spawn(workerdBin, ["serve", "workerd.capnp", `--socket-addr=http=127.0.0.1:${port}`], {
    cwd: here,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Never leave workerd behind, even if this process dies before after() runs.
  process.on("exit", () => workerd.kill("SIGKILL"));
  workerd.stdout.on("data", (d) => (output += d));
  workerd.stderr.on("data", (d) => (output += d));
  await waitFor("workerd to answer", 30_000, async () => {
    try {
      return (await get("/status?id=ping")).status === 200;
    } catch {
      return false; // not listening yet
    }
  });
});

after(async () => {
  if (!workerd || workerd.exitCode !== null) return;
  const exited = new Promise((r) => workerd.once("exit", r));
  workerd.kill("SIGTERM");
  const timer = setTimeout(() => workerd.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
});

test("the response comes before the wait_until work, and that work finishes", async () => {
  const id = `w${process.pid}`;
  // The work waits for /release, sent only below: getting this response at all shows it was
  // not held back until the wait_until work finished.
  assert.deepEqual(await get(`/work?id=${id}`), { status: 200, body: `hello ${id}` });
  assert.equal((await get(`/status?id=${id}`)).body, "pending");
  const released = performance.now();
  assert.equal((await get(`/release?id=${id}`)).body, "released");
  await waitFor("the wait_until work to finish", 10_000, async () => (await get(`/status?id=${id}`)).body === "done");
  // After the release the work sleeps 50 ms on setTimeout: it cannot be done sooner (5 ms of
  // slack for workerd's timer reading its clock at the start of an event-loop turn).
  const elapsed = performance.now() - released;
  assert.ok(elapsed >= 45, `done ${elapsed.toFixed(1)} ms after the release, before its 50 ms sleep`);
  await waitFor("the `work done` log line", 10_000, async () => output.includes(`work done ${id}\n`));
  assert.ok(!output.includes("timed out"), output);
});

test("a task not handed to wait_until is reported by the session check, by spawn site", async () => {
  const { status, body } = await get("/leak");
  assert.equal(status, 500, body);
  assert.match(body, /leaked 1 task\(s\) still running/);
  assert.match(body, /spawned at .*handler\.rs:\d+/);
});

test("timers fire in deadline order, never early, as in the simulation", async () => {
  const start = performance.now();
  assert.deepEqual(await get("/timers"), { status: 200, body: "fired 1,2,0" });
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 25, `30 ms of timers answered after ${elapsed.toFixed(1)} ms`);
});

test("a request's timer fires although the request that armed an earlier one has ended", async () => {
  // The first request leaves a 100 ms timer behind and ends; the second waits 200 ms. One
  // scheduler serves both: the second's timer must not depend on the first's request.
  assert.equal((await get("/leak?id=100")).status, 500);
  const start = performance.now();
  assert.deepEqual(await get("/sleep?id=200"), { status: 200, body: "slept" });
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 195, `a 200 ms sleep answered after ${elapsed.toFixed(1)} ms`);
});
