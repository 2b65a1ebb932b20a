/**
 * The app served the ways a user serves it: `npm start` (vite's dev server, which answers a missing
 * file with index.html and 200) and `npm run build` + `npm run preview`. Each is spawned from the
 * repository root exactly as the npm script runs it, in its own process group, and killed with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface AppServer {
  url: string;
  /** What the server printed, for a failure message. */
  output(): string;
  close(): Promise<void>;
}

/** A port nobody listens on right now (the server then takes it with --strictPort, so a race fails loudly). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok, fail) => srv.once('error', fail).listen(0, '127.0.0.1', ok));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

/**
 * The environment a user's shell gives npm: vitest's own variables (NODE_ENV=test would make vite
 * bundle React's development build) are left out.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_ENV' || k.startsWith('VITEST') || k === 'TEST' || k.startsWith('npm_')) continue;
    env[k] = v;
  }
  env.FORCE_COLOR = '0';
  env.NO_COLOR = '1';
  return env;
}

function spawnNpm(args: string[]): { child: ChildProcess; output(): string } {
  let out = '';
  const child = spawn('npm', args, { cwd: ROOT, env: userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => out };
}

/** Kills the whole process group (npm → sh → node vite) and waits for the leader to exit. */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

async function waitUntilAnswering(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before answering ${url}:\n${output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no answer from ${url} within ${timeoutMs / 1000} s:\n${output()}`);
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

/** `npm start -- --port <free> --strictPort`: vite's dev server, as the README tells users to run it. */
export async function startDevServer(timeoutMs = 120_000): Promise<AppServer> {
  const port = await freePort();
  const { child, output } = spawnNpm(['start', '--', '--port', String(port), '--strictPort']);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(`${url}/`, child, output, timeoutMs);
  } catch (e) {
    await killGroup(child);
    throw e;
  }
  return { url, output, close: () => killGroup(child) };
}

/** Runs an npm script to completion; throws with its output when it fails. */
export async function runNpm(args: string[], timeoutMs: number): Promise<string> {
  const { child, output } = spawnNpm(args);
  const code = await new Promise<number | null>((ok) => {
    const timer = setTimeout(() => void killGroup(child), timeoutMs);
    child.once('exit', (c) => {
      clearTimeout(timer);
      ok(c);
    });
  });
  if (code !== 0) throw new Error(`npm ${args.join(' ')} exited with ${code}:\n${output()}`);
  return output();
}

export interface BuiltApp {
  outDir: string;
  remove(): void;
}

/** `npm run build` into a temporary outDir (the repository's dist/ is left alone). */
export async function buildApp(timeoutMs = 300_000): Promise<BuiltApp> {
  const outDir = mkdtempSync(join(tmpdir(), 'tabzero-build-'));
  await runNpm(['run', 'build', '--', '--outDir', outDir, '--emptyOutDir'], timeoutMs);
  return { outDir, remove: () => rmSync(outDir, { recursive: true, force: true }) };
}

/** `npm run preview -- --outDir <build> --port <free> --strictPort`: the production build as vite preview serves it. */
export async function startPreview(outDir: string, timeoutMs = 60_000): Promise<AppServer> {
  const port = await freePort();
  const { child, output } = spawnNpm(['run', 'preview', '--', '--outDir', outDir, '--port', String(port), '--strictPort']);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(`${url}/`, child, output, timeoutMs);
  } catch (e) {
    await killGroup(child);
    throw e;
  }
  return { url, output, close: () => killGroup(child) };
}
