import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { parseRedisUrl, describeRedisUrl } from '../../src/study/redis-url.js';
import { StudyStore } from '../../src/study/store.js';
import { killLaunched, launchNode } from './processes.js';
import { CLI, HIPPOCAMPUS, NO_DATA, REPO_ROOT, freePort, tempDir } from '../helpers.js';

const FAKE_STUDY = join(REPO_ROOT, 'dist', 'test', 'study', 'run-fake-study.js');
const FAKE_WORKER = join(REPO_ROOT, 'dist', 'test', 'study', 'run-fake-worker.js');
/** 6 cells: 15 slices/volume × random and fixed-interval × 3 seeds. */
const CONFIG = { seeds: [0, 1, 2], budgets: [0.02], allocations: [{ slicesPerVolume: 15 }], strategies: ['random', 'fixed-interval'], interpolations: ['none'], models: ['2d'] };
const CELLS = 6;
const ROWS_PER_CELL = 52 * 2;
const PASSWORD = 'test-secret';
const NO_REDIS = spawnSync('redis-server', ['--version']).status === 0 ? false : 'redis-server is not installed';

describe('redis URL', () => {
  it('parses host, port, database, password and TLS', () => {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6380/2'), { host: '127.0.0.1', port: 6380, db: 2 });
    assert.deepEqual(parseRedisUrl('redis://localhost'), { host: 'localhost', port: 6379, db: 0 });
    assert.deepEqual(parseRedisUrl('redis://:p%40ss@h:1/0'), { host: 'h', port: 1, db: 0, password: 'p@ss' });
    assert.deepEqual(parseRedisUrl('rediss://user:pw@queue.example:6390'), { host: 'queue.example', port: 6390, db: 0, username: 'user', password: 'pw', tls: { servername: 'queue.example' } });
    assert.deepEqual(parseRedisUrl('redis://[::1]:7000/3'), { host: '::1', port: 7000, db: 3 });
    assert.equal(describeRedisUrl('redis://:secret@h:1/0'), 'redis://:***@h:1/0');
  });

  it('names the option in every error and never prints the password', () => {
    const cases: [string, string][] = [
      ['http://h:1', '--queue: unsupported scheme "http"'],
      ['redis://h:1/x', '--queue: database "x" is not a non-negative integer'],
      ['redis://h:1/0?x=1', '--queue: must not have a query or fragment'],
      ['redis:/h', '--queue: has no host'],
      ['not a url :secret@', '--queue: "not a url :secret@" is not a URL'],
    ];
    for (const [url, message] of cases) {
      assert.throws(() => parseRedisUrl(url), (err: Error) => err.message.startsWith(message), url);
    }
    assert.throws(() => parseRedisUrl('redis://:secret@h:0', '<url>'), (err: Error) => err.message.startsWith('<url>: port "0" is out of range 1-65535'));
    assert.throws(() => parseRedisUrl('redis://:secret@h:99999', '<url>'), (err: Error) => err.message.startsWith('<url>: "redis://:***@h:99999" is not a URL'));
  });
});

/** A redis-server of its own on 127.0.0.1, append-only with fsync on every write, password protected. */
class RedisServer {
  private child: ChildProcess | null = null;
  constructor(readonly port: number, readonly dir: string) {}

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always', '--requirepass', PASSWORD], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** SIGTERM: Redis flushes its append-only file and exits. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  url(db: number): string {
    return `redis://:${PASSWORD}@127.0.0.1:${this.port}/${db}`;
  }
}

const launch = launchNode;

async function startWorker(url: string, env: Record<string, string>) {
  const worker = launch([FAKE_WORKER, url], env);
  const id = await waitFor(() => worker.output().stdout.match(/^ready (\S+)$/m)?.[1], 20_000, `worker ready (${worker.output().stderr})`);
  return { ...worker, id };
}

function coordinator(out: string, configPath: string, url: string, extra: string[] = []) {
  return launch([CLI, 'study', HIPPOCAMPUS, '--config', configPath, '--out', out, '--queue', url, ...extra]);
}

async function waitFor<T>(probe: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Rows of the store's cells table while the coordinator writes it (empty before the schema exists). */
function storeCells(storePath: string): { id: string; status: string; worker: string | null; attempts: number; error: string | null }[] {
  if (!existsSync(storePath)) return [];
  try {
    const db = new Database(storePath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT id, status, worker, attempts, error FROM cells').all() as ReturnType<typeof storeCells>;
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}

function snapshot(storePath: string) {
  const store = new StudyStore(storePath, { readonly: true });
  try {
    return {
      cells: store.cells().map((c) => ({ id: c.spec.id, status: c.status, plan: c.plan, config: c.spec.config })).sort((a, b) => (a.id < b.id ? -1 : 1)),
      rows: store.caseResults(),
    };
  } finally {
    store.close();
  }
}

function rowsPerCell(storePath: string): number[] {
  const counts = new Map<string, number>();
  for (const r of snapshot(storePath).rows) counts.set(r.cellId, (counts.get(r.cellId) ?? 0) + 1);
  return [...counts.values()];
}

function queueStatus(url: string) {
  const r = spawnSync(process.execPath, [CLI, 'queue', 'status', url, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Inodes of listening TCP sockets and bound UDP sockets on this machine (any address). */
function listeningInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const [file, listenState] of [['tcp', '0A'], ['tcp6', '0A'], ['udp', null], ['udp6', null]] as const) {
    const path = `/proc/net/${file}`;
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, 'utf8').trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (listenState === null || f[3] === listenState) inodes.add(f[9]);
    }
  }
  return inodes;
}

function socketInodes(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  const out: string[] = [];
  for (const fd of existsSync(dir) ? readdirSync(dir) : []) {
    try {
      const m = readlinkSync(join(dir, fd)).match(/^socket:\[(\d+)\]$/);
      if (m) out.push(m[1]);
    } catch { /* fd closed meanwhile */ }
  }
  return out;
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const tasks = `/proc/${pid}/task`;
  for (const tid of existsSync(tasks) ? readdirSync(tasks) : []) {
    const text = readFileSync(join(tasks, tid, 'children'), 'utf8').trim();
    for (const c of text ? text.split(/\s+/).map(Number) : []) out.push(c, ...descendants(c));
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('distributed study on BullMQ', { skip: NO_DATA || NO_REDIS }, () => {
  const dir = tempDir();
  const configPath = join(dir, 'study.json');
  writeFileSync(configPath, JSON.stringify(CONFIG));
  const reference = join(dir, 'reference', 'study.sqlite');
  let redis: RedisServer;

  before(async () => {
    const redisDir = join(dir, 'redis');
    mkdirSync(redisDir);
    redis = new RedisServer(await freePort(), redisDir);
    await redis.start();
    // The same grid on the local pool: what every distributed run must reproduce.
    const r = spawnSync(process.execPath, [FAKE_STUDY, HIPPOCAMPUS, join(dir, 'reference'), configPath, '--workers', '2'], { encoding: 'utf8', env: { ...process.env, FAKE_CELL_MS: '0' } });
    assert.equal(r.status, 0, r.stderr);
  });

  after(async () => {
    killLaunched();
    await redis?.stop();
  });

  it('a worker killed mid-cell: the cell is retried by another worker and recorded once; nothing listens', async () => {
    const url = redis.url(0);
    const victim = await startWorker(url, { FAKE_CELL_MS: '1500' });
    const survivor = await startWorker(url, { FAKE_CELL_MS: '1500' });
    const out = join(dir, 'worker-killed');
    const study = coordinator(out, configPath, url);
    const storePath = join(out, 'study.sqlite');
    const killedCell = await waitFor(() => storeCells(storePath).find((c) => c.status === 'running' && c.worker === victim.id)?.id, 30_000, 'a cell running on the victim');
    // No slicewise process (coordinator, workers, their sandboxed cell processes) listens on any address.
    const listening = listeningInodes();
    assert.ok(socketInodes(redis.pid).some((i) => listening.has(i)), 'the check sees redis-server listening');
    const victimChildren = descendants(victim.child.pid!);
    assert.ok(victimChildren.length >= 1, 'the victim runs its cell in a sandboxed child process');
    for (const pid of [study.child.pid!, victim.child.pid!, survivor.child.pid!, ...victimChildren, ...descendants(survivor.child.pid!)]) {
      const sockets = socketInodes(pid);
      assert.deepEqual(sockets.filter((i) => listening.has(i)), [], `process ${pid} listens`);
    }
    assert.ok(socketInodes(victim.child.pid!).length >= 2, 'the worker has its Redis connections');
    victim.child.kill('SIGKILL');
    assert.equal((await victim.exit).signal, 'SIGKILL');
    const result = await study.exit;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^6 cells done in this run, 0 before, 0 failed, of 6/);
    const cells = storeCells(storePath);
    const retried = cells.find((c) => c.id === killedCell)!;
    assert.deepEqual([retried.status, retried.attempts, retried.worker], ['done', 2, survivor.id]);
    assert.deepEqual(rowsPerCell(storePath), Array(CELLS).fill(ROWS_PER_CELL));
    assert.deepEqual(snapshot(storePath), snapshot(reference));
    // The victim's cell process died with it (it exits when its IPC channel closes).
    await waitFor(() => victimChildren.every((pid) => !alive(pid)), 5000, 'the victim\'s cell process to exit');
    survivor.child.kill('SIGTERM');
    assert.equal((await survivor.exit).code, 0);
  });

  it('Redis restarted during a study (append-only file): the study continues and loses no result', async () => {
    const url = redis.url(1);
    const workers = [await startWorker(url, { FAKE_CELL_MS: '700' }), await startWorker(url, { FAKE_CELL_MS: '700' })];
    const out = join(dir, 'redis-restarted');
    const study = coordinator(out, configPath, url);
    const storePath = join(out, 'study.sqlite');
    await waitFor(() => storeCells(storePath).filter((c) => c.status === 'done').length >= 2, 30_000, '2 cells done');
    await redis.stop();
    const doneWhileDown = storeCells(storePath).filter((c) => c.status === 'done').length;
    assert.ok(doneWhileDown < CELLS, `${doneWhileDown} cells done when Redis stopped`);
    await new Promise((r) => setTimeout(r, 800));
    await redis.start();
    const result = await study.exit;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^6 cells done in this run, 0 before, 0 failed, of 6/);
    assert.deepEqual(rowsPerCell(storePath), Array(CELLS).fill(ROWS_PER_CELL));
    assert.deepEqual(snapshot(storePath), snapshot(reference));
    assert.deepEqual(queueStatus(url), { waiting: 0, active: 0, done: CELLS, failed: 0, workers: 2 });
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) assert.equal((await w.exit).code, 0);
  });

  it('the coordinator killed and restarted with --resume re-attaches to its jobs and finishes', async () => {
    const url = redis.url(2);
    const workers = [await startWorker(url, { FAKE_CELL_MS: '700' }), await startWorker(url, { FAKE_CELL_MS: '700' })];
    const out = join(dir, 'coordinator-killed');
    const storePath = join(out, 'study.sqlite');
    const first = coordinator(out, configPath, url);
    await waitFor(() => storeCells(storePath).filter((c) => c.status === 'done').length >= 2, 30_000, '2 cells done');
    first.child.kill('SIGKILL');
    assert.equal((await first.exit).signal, 'SIGKILL');
    const recorded = storeCells(storePath).filter((c) => c.status === 'done').length;
    // The workers go on without a coordinator; their results wait in Redis.
    await waitFor(() => queueStatus(url).done > recorded, 10_000, 'a cell finished while no coordinator listened');
    const second = coordinator(out, configPath, url, ['--resume']);
    const result = await second.exit;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^${CELLS - recorded} cells done in this run, ${recorded} before, 0 failed, of 6`));
    assert.deepEqual(rowsPerCell(storePath), Array(CELLS).fill(ROWS_PER_CELL));
    assert.deepEqual(snapshot(storePath), snapshot(reference));
    // Every cell ran once: re-enqueueing on resume added no job.
    assert.deepEqual(queueStatus(url), { waiting: 0, active: 0, done: CELLS, failed: 0, workers: 2 });
    assert.ok(storeCells(storePath).every((c) => c.attempts === 1));
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) assert.equal((await w.exit).code, 0);
  });

  it('a cell that fails every time is failed after its attempts; the study completes and the report lists it', async () => {
    const url = redis.url(3);
    const failingConfig = join(dir, 'failing.json');
    writeFileSync(failingConfig, JSON.stringify({ ...CONFIG, maxAttempts: 3 }));
    // random seed 1 crashes every time (retried 3 times); fixed-interval seed 2 is a corrupt case (a UserError: never retried).
    const env = { FAKE_CELL_MS: '100', FAKE_CRASH: 'random:1', FAKE_FAIL: 'fixed-interval:2' };
    const workers = [await startWorker(url, env), await startWorker(url, env)];
    const out = join(dir, 'failing');
    const result = await coordinator(out, failingConfig, url).exit;
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^4 cells done in this run, 0 before, 2 failed, of 6/);
    const store = new StudyStore(join(out, 'study.sqlite'), { readonly: true });
    const failed = store.cells().filter((c) => c.status === 'failed').map((c) => ({ strategy: c.spec.config.strategy, seed: c.spec.config.seed, attempts: c.attempts, error: c.error }));
    store.close();
    assert.deepEqual(failed.sort((a, b) => a.strategy.localeCompare(b.strategy)), [
      { strategy: 'fixed-interval', seed: 2, attempts: 1, error: 'fake: corrupt case in fake study (fixed-interval, seed 2)' },
      { strategy: 'random', seed: 1, attempts: 3, error: 'simulated crash (random, seed 1)' },
    ]);
    assert.deepEqual(queueStatus(url), { waiting: 0, active: 0, done: 4, failed: 2, workers: 2 });
    const report = spawnSync(process.execPath, [CLI, 'report', out], { encoding: 'utf8' });
    assert.equal(report.status, 0, report.stderr);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /<td>3<\/td><td>simulated crash \(random, seed 1\)<\/td>/);
    assert.match(html, /<td>1<\/td><td>fake: corrupt case in fake study \(fixed-interval, seed 2\)<\/td>/);
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) assert.equal((await w.exit).code, 0);
    // Once the cases are fixed, --resume runs the failed cells again (their failed jobs are retried, not re-added).
    const fixed = await startWorker(url, { FAKE_CELL_MS: '0' });
    const resumed = await coordinator(out, failingConfig, url, ['--resume']).exit;
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^2 cells done in this run, 4 before, 0 failed, of 6/);
    assert.deepEqual(queueStatus(url), { waiting: 0, active: 0, done: CELLS, failed: 0, workers: 1 });
    fixed.child.kill('SIGTERM');
    assert.equal((await fixed.exit).code, 0);
  });

  it('the verbs check the URL and the connection before doing anything', () => {
    const bad = spawnSync(process.execPath, [CLI, 'worker', '--queue', 'http://127.0.0.1:1'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim(), 'slicewise: --queue: unsupported scheme "http" (expected redis://[:password@]host:port[/db] or rediss://...)');
    const wrongPassword = spawnSync(process.execPath, [CLI, 'queue', 'status', `redis://:nope@127.0.0.1:${redis.port}/0`], { encoding: 'utf8' });
    assert.equal(wrongPassword.status, 2);
    assert.match(wrongPassword.stderr, /^slicewise: <url>: cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: WRONGPASS/);
    const out = join(dir, 'unreachable');
    const refused = spawnSync(process.execPath, [CLI, 'study', HIPPOCAMPUS, '--config', configPath, '--out', out, '--queue', `redis://127.0.0.1:${redis.port + 1}`], { encoding: 'utf8' });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /^slicewise: --queue: cannot use Redis at redis:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    assert.equal(existsSync(out), false);
    const help = spawnSync(process.execPath, [CLI, 'worker', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /--concurrency <n>[^-]*\(default:\s+1\)/);
  });
});

describe('distributed study over TLS (rediss://)', { skip: NO_DATA || NO_REDIS || (spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed') }, () => {
  const dir = tempDir();
  const configPath = join(dir, 'study.json');
  writeFileSync(configPath, JSON.stringify(CONFIG));
  let server: ChildProcess | null = null;
  let port = 0;

  before(async () => {
    // A throw-away CA and a server certificate for 127.0.0.1.
    const sh = (args: string[]) => assert.equal(spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' }).status, 0, `openssl ${args.join(' ')}`);
    sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=slicewise test CA']);
    sh(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    sh(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext']);
    port = await freePort();
    server = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
      '--tls-cert-file', 'server.pem', '--tls-key-file', 'server.key', '--tls-ca-cert-file', 'ca.pem', '--tls-auth-clients', 'no', '--requirepass', PASSWORD],
    { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await waitFor(() => {
      out += server!.stdout!.read()?.toString() ?? '';
      return out.includes('Ready to accept connections');
    }, 10_000, `redis-server with TLS (${out})`);
  });

  after(() => {
    killLaunched();
    server?.kill('SIGTERM');
  });

  it('runs a study with a password over TLS; an untrusted certificate is refused', async () => {
    const url = `rediss://:${PASSWORD}@127.0.0.1:${port}/0`;
    const untrusted = spawnSync(process.execPath, [CLI, 'queue', 'status', url], { encoding: 'utf8' });
    assert.equal(untrusted.status, 2);
    assert.match(untrusted.stderr, /^slicewise: <url>: cannot use Redis at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: .*certificate/);
    const trusted = { NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') };
    const worker = await startWorker(url, { ...trusted, FAKE_CELL_MS: '0' });
    const study = launch([CLI, 'study', HIPPOCAMPUS, '--config', configPath, '--out', join(dir, 'out'), '--queue', url], trusted);
    const result = await study.exit;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^6 cells done in this run, 0 before, 0 failed, of 6/);
    assert.deepEqual(rowsPerCell(join(dir, 'out', 'study.sqlite')), Array(CELLS).fill(ROWS_PER_CELL));
    worker.child.kill('SIGTERM');
    assert.equal((await worker.exit).code, 0);
  });
});
