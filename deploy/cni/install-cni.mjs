#!/usr/bin/env node
// Installs ambit's CNI plugin on the node it runs on (the init container of
// the ztunnel DaemonSet, with the host's directories mounted):
//
//   1. the runtime tree (node binary, bin/, dist/, node_modules/,
//      package.json) into AMBIT_INSTALL_DIR/releases/<id>, switched to
//      atomically through the `current` symlink;
//   2. the `ambit-cni` wrapper into CNI_BIN_DIR, which runs
//      `<host path>/current/node <host path>/current/bin/ambit cni`;
//   3. an entry `{ "type": "ambit-cni", "agentSocket", "cgroupRoot" }` at the
//      end of the `plugins` of the node's conflist (CNI_CONF_NAME, or the
//      first *.conflist in CNI_NET_DIR in lexical order, as the runtime picks
//      it), waiting up to CNI_CONF_WAIT_SECONDS for the primary plugin to
//      write it. An existing entry is updated in place; an unchanged file is
//      not rewritten.
//
// Environment (defaults in brackets):
//   CNI_BIN_DIR [/host/opt/cni/bin]  CNI_NET_DIR [/host/etc/cni/net.d]
//   CNI_CONF_NAME []  CNI_CONF_WAIT_SECONDS [120]
//   AMBIT_SOURCE_DIR [the image's /opt/ambit]
//   AMBIT_INSTALL_DIR [/host/opt/ambit]  AMBIT_HOST_INSTALL_PATH [/opt/ambit]
//   AMBIT_AGENT_SOCKET [/var/run/ambit/ztunnel.sock]
//   AMBIT_CGROUP_ROOT [/sys/fs/cgroup]
// Exit status 0 when installed, 1 with a message on stderr otherwise.
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const PLUGIN_TYPE = 'ambit-cni';
const TREE_ENTRIES = ['bin', 'dist', 'node_modules', 'package.json'];

class InstallError extends Error {}

function env(name, fallback) {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
}

function absolute(name, value) {
  if (!isAbsolute(value)) throw new InstallError(`${name} "${value}" must be an absolute path`);
  return value;
}

function settings() {
  const here = dirname(fileURLToPath(import.meta.url));
  const waitSeconds = Number(env('CNI_CONF_WAIT_SECONDS', '120'));
  if (!Number.isInteger(waitSeconds) || waitSeconds < 0) {
    throw new InstallError(`CNI_CONF_WAIT_SECONDS "${process.env.CNI_CONF_WAIT_SECONDS}" must be a non-negative integer`);
  }
  return {
    binDir: absolute('CNI_BIN_DIR', env('CNI_BIN_DIR', '/host/opt/cni/bin')),
    netDir: absolute('CNI_NET_DIR', env('CNI_NET_DIR', '/host/etc/cni/net.d')),
    confName: env('CNI_CONF_NAME', ''),
    waitSeconds,
    sourceDir: absolute('AMBIT_SOURCE_DIR', env('AMBIT_SOURCE_DIR', resolve(here, '..', '..'))),
    installDir: absolute('AMBIT_INSTALL_DIR', env('AMBIT_INSTALL_DIR', '/host/opt/ambit')),
    hostInstallPath: absolute('AMBIT_HOST_INSTALL_PATH', env('AMBIT_HOST_INSTALL_PATH', '/opt/ambit')),
    agentSocket: absolute('AMBIT_AGENT_SOCKET', env('AMBIT_AGENT_SOCKET', '/var/run/ambit/ztunnel.sock')),
    cgroupRoot: absolute('AMBIT_CGROUP_ROOT', env('AMBIT_CGROUP_ROOT', '/sys/fs/cgroup')),
  };
}

/** Writes through a temporary file and a rename, so readers see the old or the new content. */
function writeAtomic(path, content, mode) {
  const tmp = join(dirname(path), `.${PLUGIN_TYPE}-${process.pid}.tmp`);
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function installTree(s) {
  for (const entry of TREE_ENTRIES) {
    if (!existsSync(join(s.sourceDir, entry))) throw new InstallError(`${join(s.sourceDir, entry)} is missing from the image`);
  }
  const releases = join(s.installDir, 'releases');
  mkdirSync(releases, { recursive: true });
  const id = `r${Date.now()}-${process.pid}`;
  const staging = join(releases, `.${id}.tmp`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  for (const entry of TREE_ENTRIES) cpSync(join(s.sourceDir, entry), join(staging, entry), { recursive: true });
  cpSync(process.execPath, join(staging, 'node'));
  chmodSync(join(staging, 'node'), 0o755);
  renameSync(staging, join(releases, id));
  const link = join(s.installDir, 'current');
  const linkTmp = join(s.installDir, '.current.tmp');
  rmSync(linkTmp, { force: true });
  symlinkSync(join('releases', id), linkTmp);
  renameSync(linkTmp, link);
  for (const old of readdirSync(releases)) {
    if (old !== id) rmSync(join(releases, old), { recursive: true, force: true });
  }
  return id;
}

function installWrapper(s) {
  const base = join(s.hostInstallPath, 'current');
  const script = [
    '#!/bin/sh',
    '# ambit CNI plugin (chained); installed by the ztunnel DaemonSet.',
    `exec '${join(base, 'node')}' '${join(base, 'bin', 'ambit')}' cni`,
    '',
  ].join('\n');
  mkdirSync(s.binDir, { recursive: true });
  writeAtomic(join(s.binDir, PLUGIN_TYPE), script, 0o755);
}

function pickConflist(s) {
  if (s.confName !== '') {
    const path = join(s.netDir, s.confName);
    return existsSync(path) ? path : undefined;
  }
  if (!existsSync(s.netDir)) return undefined;
  const names = readdirSync(s.netDir)
    .filter((n) => !n.startsWith('.') && /\.(conflist|conf|json)$/.test(n))
    .sort();
  if (names.length === 0) return undefined;
  const first = names[0];
  if (!first.endsWith('.conflist')) {
    throw new InstallError(`${join(s.netDir, first)} is the runtime's network configuration but not a .conflist; plugins can only be chained in a conflist (set CNI_CONF_NAME)`);
  }
  return join(s.netDir, first);
}

async function waitForConflist(s) {
  const deadline = Date.now() + s.waitSeconds * 1000;
  for (;;) {
    const path = pickConflist(s);
    if (path !== undefined) return path;
    if (Date.now() >= deadline) {
      const what = s.confName === '' ? `no *.conflist in ${s.netDir}` : `${join(s.netDir, s.confName)} does not exist`;
      throw new InstallError(`${what} after ${s.waitSeconds}s; is the primary CNI plugin installed?`);
    }
    await setTimeout(1000);
  }
}

function chainPlugin(path, s) {
  let conf;
  try {
    conf = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InstallError(`${path}: not JSON (${err.message})`);
  }
  if (typeof conf !== 'object' || conf === null || !Array.isArray(conf.plugins)) {
    throw new InstallError(`${path}: no "plugins" array`);
  }
  const entry = { type: PLUGIN_TYPE, agentSocket: s.agentSocket, cgroupRoot: s.cgroupRoot };
  const others = conf.plugins.filter((p) => !(p !== null && typeof p === 'object' && p.type === PLUGIN_TYPE));
  const next = { ...conf, plugins: [...others, entry] };
  if (JSON.stringify(next) === JSON.stringify(conf)) return false;
  writeAtomic(path, `${JSON.stringify(next, null, 2)}\n`, statSync(path).mode & 0o777);
  return true;
}

async function main() {
  const s = settings();
  const release = installTree(s);
  installWrapper(s);
  const conflist = await waitForConflist(s);
  const changed = chainPlugin(conflist, s);
  process.stdout.write(
    `${JSON.stringify({ msg: 'ambit cni plugin installed', release, wrapper: join(s.binDir, PLUGIN_TYPE), conflist, conflistChanged: changed })}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`install-cni: ${err instanceof InstallError ? err.message : (err?.stack ?? String(err))}\n`);
  process.exitCode = 1;
});
