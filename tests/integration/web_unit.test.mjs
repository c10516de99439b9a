// tests/integration/web_unit.test.mjs - the web app's unit tests (Vitest, jsdom; web/src/**/*.test.*)
// run from the project's runner: `npm test --prefix web` with Vitest's JSON reporter, every Vitest
// test reported here as a subtest, and the totals asserted (no failed test or file, at least one
// test run). Needs web/node_modules (tools/deps.sh installs it; run `npm ci --prefix web` by hand
// otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const ROOT = process.env.SH_ROOT || new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const WEB = join(ROOT, 'web');

function run(cmd, args, opts) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', (code, signal) => resolve({ code, signal, out }));
  });
}

test('web unit tests (vitest)', { timeout: 600000 }, async (t) => {
  assert.ok(existsSync(join(WEB, 'package.json')), 'web/package.json is missing');
  assert.ok(existsSync(join(WEB, 'node_modules', 'vitest')), 'web/node_modules is missing: run `npm ci --prefix web` (make deps does)');
  const dir = mkdtempSync(join(tmpdir(), 'sh-vitest-'));
  const file = join(dir, 'report.json');
  try {
    const r = await run('npm', ['test', '--prefix', WEB, '--silent', '--', '--reporter=json', `--outputFile=${file}`], {
      cwd: WEB,
      env: { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    assert.ok(existsSync(file), `vitest wrote no report (exit ${r.code ?? r.signal}):\n${r.out.slice(-4000)}`);
    const report = JSON.parse(readFileSync(file, 'utf8'));
    for (const suite of report.testResults || []) {
      const name = relative(WEB, suite.name);
      if (!(suite.assertionResults || []).length && suite.status === 'failed') {
        await t.test(name, () => assert.fail(suite.message || 'the test file failed to load'));
      }
      for (const a of suite.assertionResults || []) {
        const title = `${name} > ${a.fullName || a.title}`;
        if (a.status === 'skipped' || a.status === 'pending' || a.status === 'todo') {
          await t.test(title, { skip: true }, () => {});
        } else {
          await t.test(title, () => {
            if (a.status !== 'passed') assert.fail((a.failureMessages || []).join('\n') || `status ${a.status}`);
          });
        }
      }
    }
    assert.ok(report.numTotalTests > 0, 'vitest ran no test');
    assert.equal(report.numFailedTests, 0, `${report.numFailedTests} web unit test(s) failed`);
    assert.equal(report.numFailedTestSuites, 0, `${report.numFailedTestSuites} web test file(s) failed`);
    assert.equal(r.code, 0, `vitest exited with ${r.code ?? r.signal}:\n${r.out.slice(-4000)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
