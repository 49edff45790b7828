/**
 * The addon's failures are Errors with errno, code, syscall and a message
 * naming the call and what it was given; the Redirect wraps them in
 * RedirectErrors with stable codes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  RedirectError,
  destroyInstance,
  instancePinDir,
  isNativeError,
  openRedirect,
  type NativeError,
  type Redirect,
} from '../../../../src/ztunnel/redirect/index.js';
import { DEFAULT_OBJECT_DIR, loadAddon, type LoadedObject } from '../../../../src/ztunnel/redirect/native.js';
import { requireCaptureHost, runId } from '../../../support/netns-min.js';

async function nativeFailure(run: () => unknown): Promise<NativeError> {
  try {
    await run();
  } catch (err) {
    assert.ok(isNativeError(err), `expected an addon Error with errno/code/syscall, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}

describe('redirect native addon: failures carry errno, code, syscall and the object involved', function () {
  this.timeout(20_000);
  const id = runId();
  const instance = `t${id}-errors`;
  const missingNetns = `/var/run/netns/ambit-t${id}-missing`;
  const missingCgroup = `/sys/fs/cgroup/unified/ambit-test-${id}-missing`;
  let tmp: string;
  let loaded: LoadedObject | undefined;
  let redirect: Redirect | undefined;

  before(async () => {
    requireCaptureHost();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-redirect-errors-'));
    fs.mkdirSync(instancePinDir(instance), { recursive: true });
    loaded = await loadAddon().loadObject(path.join(DEFAULT_OBJECT_DIR, 'sk_lookup.bpf.o'), instancePinDir(instance));
  });

  after(async () => {
    redirect?.close();
    if (loaded !== undefined) {
      for (const fd of [...Object.values(loaded.programs), ...Object.values(loaded.maps)]) loadAddon().closeFd(fd);
    }
    await destroyInstance(instance);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function programFd(): number {
    const fd = loaded?.programs.ambit_sk_lookup;
    assert.ok(fd !== undefined);
    return fd;
  }

  it('loading a missing object fails with ENOENT naming the file', async () => {
    const file = path.join(tmp, 'missing.bpf.o');
    const err = await nativeFailure(() => loadAddon().loadObject(file, instancePinDir(instance)));
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.errno, 2);
    assert.equal(err.syscall, 'bpf_object__open_file');
    assert.match(err.message, new RegExp(`open bpf object ${file}`));
  });

  it('loading a file that is not a BPF object fails with an errno naming the file', async () => {
    const file = path.join(tmp, 'not-elf.bpf.o');
    fs.writeFileSync(file, 'this is not an ELF object\n');
    const err = await nativeFailure(() => loadAddon().loadObject(file, instancePinDir(instance)));
    assert.ok(err.errno > 0);
    assert.match(err.message, new RegExp(file));
  });

  it('attaching sk_lookup to a missing netns fails with ENOENT naming the netns', async () => {
    const pin = path.join(instancePinDir(instance), 'link-missing');
    const err = await nativeFailure(() => loadAddon().attach(programFd(), missingNetns, 'sk_lookup', pin));
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.syscall, 'open');
    assert.match(err.message, new RegExp(`^attach sk_lookup to netns ${missingNetns}: ENOENT`));
    assert.equal(fs.existsSync(pin), false);
  });

  it('attaching to a missing cgroup fails with ENOENT naming the cgroup', async () => {
    const pin = path.join(instancePinDir(instance), 'link-missing-cgroup');
    const err = await nativeFailure(() => loadAddon().attach(programFd(), missingCgroup, 'connect4', pin));
    assert.equal(err.code, 'ENOENT');
    assert.match(err.message, new RegExp(`attach connect4 to cgroup ${missingCgroup}`));
  });

  it('attaching a program to the wrong kind of hook fails in bpf_link_create', async () => {
    const pin = path.join(instancePinDir(instance), 'link-wrong');
    const err = await nativeFailure(() => loadAddon().attach(programFd(), '/sys/fs/cgroup/unified', 'connect4', pin));
    assert.equal(err.syscall, 'bpf_link_create');
    assert.ok(err.errno > 0);
  });

  it('creating a socket in a missing netns fails with ENOENT naming the netns', async () => {
    const err = await nativeFailure(() => loadAddon().listenInNetns(missingNetns, '0.0.0.0', 15001));
    assert.equal(err.code, 'ENOENT');
    assert.match(err.message, new RegExp(`open netns ${missingNetns}`));
  });

  it('a missing pin, a bad map fd and an unknown socket option are errno Errors', async () => {
    assert.equal((await nativeFailure(() => loadAddon().objGet(path.join(tmp, 'nope')))).code, 'ENOENT');
    // libbpf reports a bad fd passed to bpf_obj_get_info_by_fd as EBADFD.
    assert.match((await nativeFailure(() => loadAddon().mapUpdate(999_999, Buffer.alloc(4), Buffer.alloc(4)))).code, /^EBADFD?$/);
    const err = await nativeFailure(() => loadAddon().setSocketOption(0, 'bogus' as 'mark', 1));
    assert.equal(err.code, 'EINVAL');
  });

  it('a key or value of the wrong size is refused before the kernel reads past the Buffer', async () => {
    const fd = loaded?.maps.pods;
    assert.ok(fd !== undefined);
    const err = await nativeFailure(() => loadAddon().mapLookup(fd, Buffer.alloc(2), 272));
    assert.equal(err.code, 'EINVAL');
    assert.match(err.message, /map pods: key is 2 bytes \(map: 8\)/);
    assert.equal((await nativeFailure(() => loadAddon().mapUpdate(fd, Buffer.alloc(8), Buffer.alloc(8)))).code, 'EINVAL');
  });

  it('the Redirect wraps failures in RedirectErrors with stable codes and the cause', async () => {
    await assert.rejects(openRedirect({ instance: '../escape' }), (e: unknown) => e instanceof RedirectError && e.code === 'REDIRECT_BAD_INSTANCE');
    await assert.rejects(
      openRedirect({ instance: `${instance}-noobj`, objectDir: tmp }),
      (e: unknown) => e instanceof RedirectError && e.code === 'REDIRECT_LOAD_FAILED' && isNativeError(e.cause),
    );
    await destroyInstance(`${instance}-noobj`);
    redirect = await openRedirect({ instance });
    await assert.rejects(
      redirect.enrollPod({ uid: 'pod-x', cgroupPath: missingCgroup, netnsPath: missingNetns, ips: ['10.0.0.9'], inboundListenerFd: 0 }),
      (e: unknown) => e instanceof RedirectError && e.code === 'REDIRECT_BAD_POD' && /ENOENT/.test(e.message),
    );
    await assert.rejects(
      redirect.enrollPod({ uid: 'pod-x', cgroupPath: missingCgroup, netnsPath: missingNetns, ips: ['10.0.0.300'], inboundListenerFd: 0 }),
      (e: unknown) => e instanceof RedirectError && e.code === 'REDIRECT_BAD_POD' && /ips\[0\]/.test(e.message),
    );
    redirect.close();
    assert.throws(() => redirect?.counters(), (e: unknown) => e instanceof RedirectError && e.code === 'REDIRECT_CLOSED');
  });
});
