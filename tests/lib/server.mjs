// tests/lib/server.mjs - start a real streamhub for a test, with any config and any subset of
// plugins, against the PostgreSQL and Redis that tools/test.sh started (SH_TEST_PG,
// SH_TEST_REDIS_PORT). The config is written as JSON (valid YAML) into a temp dir.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = process.env.SH_ROOT || new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const BUILD = process.env.SH_BUILD || join(ROOT, 'build');
export const JWT_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

// The auth plugin as the other suites need it: the test secret, the cheapest allowed bcrypt cost
// and loopback exempt from its login/register limits (auth's own suite sets its limits itself).
export const AUTH_TEST_CONFIG = { jwt_secret: JWT_SECRET, bcrypt_cost: 10, exempt_loopback: true };

// Every temp dir a test made, removed when the test process exits.
const tempDirs = [];
process.on('exit', () => { for (const d of tempDirs) { try { rmSync(d, { recursive: true, force: true }); } catch { /* gone */ } } });
function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'sh-test-'));
  tempDirs.push(d);
  return d;
}

// plugins: array of names (shipped, in BUILD/plugins) or {name, path?, config?}; a bare 'auth'
// gets AUTH_TEST_CONFIG.
export function makeConfig({ plugins = [], server = {}, database = {}, redis = true, realtime = {}, log = {} } = {}) {
  return {
    server: {
      http_port: 0, http_bind: '127.0.0.1', plugin_dir: join(BUILD, 'plugins'), web_root: '',
      rate_limit_exempt_loopback: true, read_timeout_ms: 5000, shutdown_grace_ms: 2000, ...server,
    },
    database: { url: process.env.SH_TEST_PG, pool_size: 4, ...database },
    redis: redis ? { enabled: true, host: '127.0.0.1', port: Number(process.env.SH_TEST_REDIS_PORT || 26379), ...(typeof redis === 'object' ? redis : {}) }
      : { enabled: false },
    log: { level: 'info', ...log },
    realtime: { connections_per_ip_per_minute: 0, ...realtime },
    plugins: plugins.map((p) => (p === 'auth' ? { name: 'auth', config: AUTH_TEST_CONFIG } : typeof p === 'string' ? { name: p } : p)),
  };
}

// Start a server; resolves once it listens. opts: makeConfig options, or {configText} raw YAML.
export async function startServer(opts = {}) {
  const dir = tempDir();
  const file = join(dir, 'streamhub.yaml');
  writeFileSync(file, opts.configText ?? JSON.stringify(makeConfig(opts), null, 2));
  const env = { ...process.env, STREAMHUB_JWT_SECRET: JWT_SECRET, ...(opts.env || {}) };
  const proc = spawn(join(BUILD, 'streamhub'), ['-c', file, ...(opts.args || [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${out}`)), 20000);
    const check = () => {
      const m = out.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    proc.stdout.on('data', check);
    proc.stderr.on('data', check);
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`server exited (${code ?? signal}) before listening:\n${out}`)); });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url, port, proc, dir, configFile: file,
    logs: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

// Run the binary to completion (for --check-config, --list-plugins, refusals).
export function runBinary(args, { env = {}, configText, config } = {}) {
  return new Promise((resolve) => {
    let file = null;
    if (configText !== undefined || config) {
      const dir = tempDir();
      file = join(dir, 'streamhub.yaml');
      writeFileSync(file, configText ?? JSON.stringify(makeConfig(config), null, 2));
    }
    const full = file ? ['-c', file, ...args] : args;
    const proc = spawn(join(BUILD, 'streamhub'), full, { env: { ...process.env, STREAMHUB_JWT_SECRET: JWT_SECRET, ...env } });
    let stdout = '', stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// JSON API helper: returns {status, headers, body (parsed JSON or text)}.
export async function api(base, method, path, { body, token, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined && !raw) h['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers: h, body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined) });
  const text = await res.text();
  let parsed = text;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: parsed };
}

export function uniq(prefix = 'u') {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.slice(0, 30);
}
