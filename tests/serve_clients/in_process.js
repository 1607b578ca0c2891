// The daemon's sync port (flagd.sync.v1) with the official JavaScript flagd provider in in-process
// mode (@openfeature/flagd-provider + @openfeature/server-sdk, from the npm registry): every flag
// type, targeting and fractional rollouts answer as `flagctl eval` answers the same file and
// contexts; then a reload (one flag's defaultVariant changed, one flag added, SIGHUP) reaches the
// provider as one ConfigurationChanged event naming exactly those two keys, and the new values are
// served.
//
//   node in_process.js FLAGD FLAGCTL        exit 0 pass, 1 fail, 77 skipped (packages missing)
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const common = require('./common');

const pkgs = common.requireOrSkip(['@openfeature/server-sdk', '@openfeature/flagd-provider', '@grpc/grpc-js']);
const { OpenFeature, ProviderEvents } = pkgs['@openfeature/server-sdk'];
const { FlagdProvider } = pkgs['@openfeature/flagd-provider'];
const bin = common.binaries();


async function compareAll(checks, client, daemon, cases, label) {
  const expected = common.flagctlEval(bin.flagctl, daemon.flagsFile, cases);
  const reasons = {};
  for (let i = 0; i < cases.length; ++i) {
    const c = cases[i];
    const details = await common.sdkDetails(client, c, common.clone(c.context));
    const got = common.normalized(details);
    const want = common.normalized(expected[i]);
    const what = `${label}: ${c.flag} as ${c.type} with ${JSON.stringify(c.context)}`;
    reasons[got.reason] = (reasons[got.reason] || 0) + 1;
    if (want.errorCode) {
      // An error answers the fallback; the SDK reports no variant for it, whatever the provider said.
      delete got.variant;
      delete want.variant;
      checks.equal(got, want, `${what} (provider vs flagctl eval)`);
    } else {
      checks.equal(got, want, `${what} (provider vs flagctl eval)`);
      checks.equal(details.flagMetadata, expected[i].flagMetadata, `${what}: flagMetadata (provider vs flagctl eval)`);
    }
  }
  return reasons;
}

common.main(async () => {
  const checks = new common.Checks();
  const flags = JSON.parse(fs.readFileSync(path.join(__dirname, 'flags.json'), 'utf8'));
  const [syncPort] = await common.freePorts(1);
  const daemon = await common.Daemon.start(bin, flags, { sync: syncPort });
  const logger = common.bufferingLogger();
  const events = [];
  try {
    OpenFeature.setLogger(logger);
    const provider = new FlagdProvider({ resolverType: 'in-process', host: '127.0.0.1', port: syncPort, deadlineMs: 5000 },
                                       logger);
    await common.withTimeout(OpenFeature.setProviderAndWait(provider),
                             `the flagd provider (in-process, 127.0.0.1:${syncPort}) to become ready`);
    const client = OpenFeature.getClient();
    client.addHandler(ProviderEvents.ConfigurationChanged, (details) => events.push(details));

    // Every type, the rules, the rollouts, and the errors, against flagctl eval on the same file.
    const cases = common.evaluationCases();
    cases.push({ flag: 'no-such-flag', type: 'boolean', default: true, context: {} });
    cases.push({ flag: 'int-static', type: 'string', default: 'fallback', context: {} });
    cases.push({ flag: 'added-flag', type: 'string', default: 'fallback', context: {} });
    const reasons = await compareAll(checks, client, daemon, cases, 'before reload');
    console.log(`reasons seen: ${JSON.stringify(reasons)}`);
    for (const r of ['STATIC', 'TARGETING_MATCH', 'DEFAULT', 'DISABLED', 'ERROR'])
      checks.ok(reasons[r] > 0, `no evaluation answered ${r}: the cases do not cover it`);
    const notFound = await client.getStringDetails('added-flag', 'fallback', {});
    checks.equal(notFound.errorCode, 'FLAG_NOT_FOUND', 'added-flag before the reload');

    // The rollouts split the users: a constant answer would prove nothing about fractional.
    for (const flag of ['rollout-split', 'rollout-bool']) {
      const seen = new Set();
      for (const c of cases.filter((x) => x.flag === flag))
        seen.add((await common.sdkDetails(client, c, common.clone(c.context))).variant);
      checks.ok(seen.size >= 2, `${flag}: every targetingKey got the same variant (${[...seen]})`);
    }

    // The daemon's own segment answers as flagctl eval does on the file (flagctl get).
    for (const c of common.evaluationCases()) {
      const viaSegment = common.flagctlGet(bin.flagctl, daemon.segment, c.flag, c.context);
      const [viaFile] = common.flagctlEval(bin.flagctl, daemon.flagsFile, [c]);
      checks.equal(common.normalized(viaSegment), common.normalized(viaFile),
                   `flagctl get (segment) vs flagctl eval (file): ${c.flag} with ${JSON.stringify(c.context)}`);
    }

    // A reload: string-static's defaultVariant changes, added-flag appears; nothing else changes.
    const changed = common.reloadedFlags(flags);
    const firstEvent = new Promise((resolve) => {
      client.addHandler(ProviderEvents.ConfigurationChanged, resolve);
    });
    const generation = await daemon.reload(changed);
    console.log(`published generation ${generation} after SIGHUP`);
    let event;
    try {
      event = await common.withTimeout(firstEvent, 'the provider\'s ConfigurationChanged event after the reload');
    } catch (e) {
      throw new Error(`${e.message}\n  provider log:\n    ${logger.lines.join('\n    ')}\n  daemon log:\n${daemon.indentedLog()}`);
    }
    checks.equal([...(event.flagsChanged || [])].sort(), ['added-flag', 'string-static'],
                 'ConfigurationChanged flagsChanged after changing string-static and adding added-flag');

    const staticNow = await client.getStringDetails('string-static', 'fallback', {});
    checks.equal(common.normalized(staticNow), { value: '#0000ff', variant: 'blue', reason: 'STATIC', errorCode: null },
                 'string-static after the reload');
    const after = common.evaluationCases();
    after.push({ flag: 'added-flag', type: 'string', default: 'fallback', context: { email: 'ann@example.com' } });
    after.push({ flag: 'added-flag', type: 'string', default: 'fallback', context: { email: 'bob@other.test' } });
    await compareAll(checks, client, daemon, after, 'after reload');
    const added = await client.getStringDetails('added-flag', 'fallback', { email: 'ann@example.com' });
    checks.equal(common.normalized(added), { value: 'alpha', variant: 'alpha', reason: 'TARGETING_MATCH', errorCode: null },
                 'added-flag after the reload');

    // One reload, one event: a second one (a resent or partial document) would name flags that
    // did not change, or none.
    checks.equal(events.map((e) => [...(e.flagsChanged || [])].sort()), [['added-flag', 'string-static']],
                 'the ConfigurationChanged events seen during the test');

    await common.withTimeout(OpenFeature.close(), 'the OpenFeature SDK to close the provider');
  } finally {
    await daemon.stop();
  }
  const ok = checks.report();
  if (!ok && logger.lines.length) console.log(`provider log:\n  ${logger.lines.join('\n  ')}`);
  return ok;
});
