// Shared by the serving tests with official OpenFeature clients (in_process.js, ofrep.js): the
// daemon started on free loopback ports with its own segment and sync document, flag files,
// `flagctl eval` as the reference answer, bounded waits, and the clean-up (in `finally`, and on
// SIGINT/SIGTERM/SIGHUP sent to the test).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');

const SKIP = 77;
const WAIT_MS = 20000; // every wait for the daemon or a client is bounded by this

// Loads the client packages; a missing one skips the test (exit 77) saying which and why.
function requireOrSkip(names) {
  const loaded = {};
  for (const name of names) {
    try {
      loaded[name] = require(name);
    } catch (e) {
      console.log(`SKIPPED: ${name} is not installed (${e.code || e.message}); ` +
                  'scripts/test.sh installs tests/serve_clients/package.json into the build tree');
      process.exit(SKIP);
    }
  }
  return loaded;
}

// The command line: FLAGD FLAGCTL. Both must be executables.
function binaries() {
  const [flagd, flagctl] = process.argv.slice(2);
  if (!flagd || !flagctl) {
    console.log(`usage: node ${path.basename(process.argv[1])} FLAGD FLAGCTL`);
    process.exit(2);
  }
  for (const f of [flagd, flagctl]) {
    try {
      fs.accessSync(f, fs.constants.X_OK);
    } catch (e) {
      console.log(`FAIL: ${f} is not an executable (${e.code})`);
      process.exit(1);
    }
  }
  return { flagd: path.resolve(flagd), flagctl: path.resolve(flagctl) };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// `promise`, or a rejection naming `what` after `ms`.
function withTimeout(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Thrown by a probe to end the wait at once (the daemon exited: nothing will answer).
class Hopeless extends Error {}

// Polls `probe` (sync or async; truthy = done) every 50 ms until it answers, at most `ms`.
async function waitFor(probe, what, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const r = await probe();
      if (r) return r;
    } catch (e) {
      if (e instanceof Hopeless) throw new Error(`${e.message} while waiting for ${what}`);
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}` + (last ? ` (last error: ${last.message})` : ''));
    await sleep(50);
  }
}

// Free TCP ports on 127.0.0.1: each bound with port 0, all held open together (so that they
// differ), then closed for the daemon to bind.
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; ++i) {
      const server = net.createServer();
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

// Writes a flag file by rename, as an editor or a deployment would.
function writeFlags(file, doc) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o644 });
  fs.renameSync(tmp, file);
}

// Every process and file a test made, for the clean-up on any exit path.
const cleanups = [];
let cleanedUp = false;
function cleanupNow() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const f of cleanups.reverse()) {
    try {
      f();
    } catch (e) {
      console.log(`clean-up: ${e.message}`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.log(`FAIL: interrupted by ${signal}`);
    cleanupNow();
    process.exit(1);
  });
}
process.on('exit', cleanupNow);

class Daemon {
  // Starts `flagd` on `flags` (a flag document) with a segment and a sync document of its own;
  // `ports`: {sync, ofrep}, either may be absent. Resolves when every port accepts connections.
  static async start(bin, flags, ports) {
    const d = new Daemon();
    d.bin = bin;
    d.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagd-serve-clients-'));
    d.flagsFile = path.join(d.dir, 'flags.json');
    d.syncDocument = path.join(d.dir, 'sync.json');
    d.metricsFile = path.join(d.dir, 'flagd.prom');
    d.segment = `test-js-${path.basename(process.argv[1], '.js')}-${process.pid}-${Date.now() % 100000}`;
    d.ports = ports;
    d.log = '';
    d.exited = null;
    cleanups.push(() => d.cleanup());
    writeFlags(d.flagsFile, flags);

    const args = ['--flags', d.flagsFile, '--segment', d.segment, '--sync-document', d.syncDocument,
                  '--metrics-file', d.metricsFile];
    if (ports.sync) args.push('--sync-port', String(ports.sync));
    if (ports.ofrep) args.push('--ofrep-port', String(ports.ofrep));
    d.commandLine = [bin.flagd, ...args].join(' ');
    d.child = spawn(bin.flagd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    d.child.stdout.on('data', (b) => { d.log += b; });
    d.child.stderr.on('data', (b) => { d.log += b; });
    d.exitPromise = new Promise((resolve) => {
      d.child.once('exit', (code, signal) => { d.exited = { code, signal }; resolve(d.exited); });
      d.child.once('error', (e) => { d.exited = { error: e.message }; d.log += `spawn error: ${e.message}\n`; resolve(d.exited); });
    });
    try {
      for (const [what, port] of Object.entries(ports)) {
        if (!port) continue;
        await waitFor(async () => {
          if (d.exited) throw new Hopeless(`the daemon exited (${JSON.stringify(d.exited)})`);
          return canConnect(port);
        }, `the daemon's ${what} port ${port} to accept connections`);
      }
      await waitFor(() => fs.existsSync(d.syncDocument), `the sync document ${d.syncDocument}`);
    } catch (e) {
      throw new Error(`${e.message}\n  command: ${d.commandLine}\n  daemon log:\n${d.indentedLog()}`);
    }
    return d;
  }

  indentedLog() {
    return this.log.split('\n').map((l) => '    ' + l).join('\n');
  }

  // The published generation, from `flagctl status`.
  generation() {
    const r = spawnSync(this.bin.flagctl, ['--segment', this.segment, 'status'], { encoding: 'utf8', timeout: WAIT_MS });
    const m = /^generation:\s+(\d+)/m.exec(r.stdout || '');
    if (r.status !== 0 || !m) throw new Error(`flagctl status failed (exit ${r.status}): ${r.stderr}${r.stdout}`);
    return Number(m[1]);
  }

  // Replaces the flag file, sends SIGHUP and waits for the next generation to be published.
  async reload(flags) {
    const before = this.generation();
    writeFlags(this.flagsFile, flags);
    this.child.kill('SIGHUP');
    try {
      return await waitFor(() => {
        if (this.exited) throw new Hopeless(`the daemon exited (${JSON.stringify(this.exited)})`);
        const g = this.generation();
        return g > before ? g : 0;
      }, `generation ${before + 1} to be published after SIGHUP`);
    } catch (e) {
      throw new Error(`${e.message}\n  daemon log:\n${this.indentedLog()}`);
    }
  }

  // SIGTERM (SIGKILL if it has not stopped after the bounded wait); removes the segment's files,
  // the sync document and the directory.
  async stop() {
    if (this.child && !this.exited) {
      this.child.kill('SIGTERM');
      try {
        await withTimeout(this.exitPromise, 'the daemon to stop after SIGTERM');
      } catch (e) {
        this.child.kill('SIGKILL');
        await withTimeout(this.exitPromise, 'the daemon to stop after SIGKILL');
        throw e;
      } finally {
        this.cleanup();
      }
    }
    this.cleanup();
  }

  cleanup() {
    if (this.child && !this.exited) {
      try { this.child.kill('SIGKILL'); } catch (_) { /* gone */ }
    }
    for (const f of [`/dev/shm/${this.segment}`, `/dev/shm/.${this.segment}.lock`, `/dev/shm/.${this.segment}.segment`])
      fs.rmSync(f, { force: true });
    fs.rmSync(this.syncDocument, { force: true });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// `flagctl eval --flags FILE` on `requests` ({flag, type, context, default}): one answer each.
function flagctlEval(flagctl, file, requests) {
  const input = requests.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const r = spawnSync(flagctl, ['eval', '--flags', file], { input, encoding: 'utf8', timeout: WAIT_MS });
  if (r.status !== 0) throw new Error(`flagctl eval --flags ${file} failed (exit ${r.status}): ${r.stderr}`);
  const answers = r.stdout.trim().split('\n').filter((l) => l).map((l) => JSON.parse(l));
  if (answers.length !== requests.length)
    throw new Error(`flagctl eval answered ${answers.length} lines for ${requests.length} requests`);
  return answers;
}

// `flagctl --segment NAME get KEY --context JSON`: the daemon's own answer, in the flag's type.
function flagctlGet(flagctl, segment, key, context) {
  const r = spawnSync(flagctl, ['--segment', segment, 'get', key, '--context', JSON.stringify(context || {})],
                      { encoding: 'utf8', timeout: WAIT_MS });
  if (r.status !== 0) throw new Error(`flagctl get ${key} failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim());
}

// The flags of flags.json, each with the contexts that reach its rules' branches. Every attribute
// a rule reads is present and of the type it compares (the JavaScript evaluator behind the
// in-process provider differs from flagd on the others: tests/differential/differential.js).
// `type` is flagctl's; `default` is the application's fallback, whose JavaScript type selects
// the SDK's method.
function evaluationCases() {
  const cases = [];
  const add = (flag, type, dflt, contexts) => {
    for (const context of contexts) cases.push({ flag, type, default: dflt, context });
  };
  add('bool-static', 'boolean', false, [{}]);
  add('string-static', 'string', 'fallback', [{}]);
  add('int-static', 'integer', -1, [{}]);
  add('float-static', 'float', -0.5, [{}]);
  add('object-static', 'object', { fallback: true }, [{}]);
  add('email-targeted', 'string', 'fallback', [{ email: 'ann@example.com' }, { email: 'bob@other.test' }]);
  add('tier-limit', 'integer', -1, ['platinum', 'gold', 'silver', 'bronze'].map((tier) => ({ tier })));
  add('beta-enabled', 'boolean', false,
      [{ country: 'DE', age: 30 }, { country: 'NL', age: 17 }, { country: 'US', age: 40 }, { country: 'NL', age: 18 }]);
  add('price-factor', 'float', -0.5, [{ email: 'eve@vip.test', tier: 'bronze' }, { email: 'ann@example.com', tier: 'gold' },
                                      { email: 'ann@example.com', tier: 'bronze' }]);
  add('plan-config', 'object', { fallback: true }, [{ tier: 'gold' }, { tier: 'bronze' }]);
  const users = Array.from({ length: 16 }, (_, i) => ({ targetingKey: `user-${1000 + i * 7919}` }));
  add('rollout-split', 'string', 'fallback', users);
  add('rollout-bool', 'boolean', false, users);
  add('no-default', 'boolean', false, [{ email: 'ann@example.com' }, { email: 'bob@other.test' }]);
  add('disabled-flag', 'boolean', false, [{}]);
  return cases;
}

// Answers of the SDK and of flagctl in one shape: variant and errorCode null when absent.
function normalized(details) {
  return {
    value: details.value,
    variant: details.variant ?? null,
    reason: details.reason,
    errorCode: details.errorCode ?? null,
  };
}

// The SDK's method for a case, by flagctl's type name.
function sdkDetails(client, c, context) {
  switch (c.type) {
    case 'boolean': return client.getBooleanDetails(c.flag, c.default, context);
    case 'string': return client.getStringDetails(c.flag, c.default, context);
    case 'integer': case 'float': return client.getNumberDetails(c.flag, c.default, context);
    case 'object': return client.getObjectDetails(c.flag, c.default, context);
    default: throw new Error(`unknown type ${c.type}`);
  }
}

// Failures are collected, each with what was expected and what came; the run fails if any.
class Checks {
  constructor() {
    this.failures = [];
    this.passed = 0;
  }
  equal(actual, expected, what) {
    if (util.isDeepStrictEqual(actual, expected)) {
      ++this.passed;
      return true;
    }
    this.failures.push(`${what}\n    expected: ${JSON.stringify(expected)}\n    got:      ${JSON.stringify(actual)}`);
    return false;
  }
  ok(condition, what) {
    if (condition) {
      ++this.passed;
      return true;
    }
    this.failures.push(what);
    return false;
  }
  fail(what) {
    this.failures.push(what);
  }
  report() {
    for (const f of this.failures) console.log(`FAIL: ${f}`);
    console.log(`${this.passed} checks passed, ${this.failures.length} failed`);
    return this.failures.length === 0;
  }
}

// A logger for the OpenFeature SDK that keeps what it is told, printed only when the test fails.
function bufferingLogger() {
  const lines = [];
  const keep = (level) => (...args) => {
    lines.push(`${level}: ${args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : util.inspect(a))).join(' ')}`);
    if (lines.length > 200) lines.shift();
  };
  return { lines, error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug') };
}

// Runs `body` (async) with an overall bound; exit 0 if it returns true, 1 otherwise, after the
// clean-up. The CTest timeout is 120 s: this fails first, with a message.
function main(body, overallMs = 100000) {
  const watchdog = setTimeout(() => {
    console.log(`FAIL: the test did not finish in ${overallMs} ms`);
    cleanupNow();
    process.exit(1);
  }, overallMs);
  watchdog.unref();
  body().then((ok) => {
    cleanupNow();
    process.exit(ok ? 0 : 1);
  }, (e) => {
    console.log(`FAIL: ${e && e.stack ? e.stack : e}`);
    cleanupNow();
    process.exit(1);
  });
}

// A deep copy of JSON data (the SDKs may keep or change what they are given).
const clone = (x) => JSON.parse(JSON.stringify(x));

// The flags both tests reload to: string-static's defaultVariant changes and added-flag appears;
// nothing else changes.
function reloadedFlags(flags) {
  const changed = clone(flags);
  changed.flags['string-static'].defaultVariant = 'blue';
  changed.flags['added-flag'] = {
    state: 'ENABLED',
    variants: { alpha: 'alpha', beta: 'beta' },
    defaultVariant: 'beta',
    targeting: { if: [{ ends_with: [{ var: 'email' }, '@example.com'] }, 'alpha', null] },
  };
  return changed;
}

module.exports = {
  SKIP, WAIT_MS, requireOrSkip, binaries, sleep, withTimeout, waitFor, freePorts, writeFlags,
  Daemon, flagctlEval, flagctlGet, Checks, bufferingLogger, main, evaluationCases, normalized, sdkDetails,
  clone, reloadedFlags,
};
