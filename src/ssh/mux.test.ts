import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isMuxNoise, splitMuxNoise } from './mux.ts';

describe('ssh multiplexing noise', () => {
  it('recognises what ssh says when a ControlMaster refuses a session or its socket is stale, and nothing else', () => {
    for (const line of [
      'mux_client_request_session: session request failed: Session open refused by peer\r',
      'ControlSocket /home/a/.local/state/crabbox/leases/cbx_0123456789ab/cm already exists, disabling multiplexing',
      'Control socket connect(/tmp/cbx-0/0123456789ab): Connection refused',
      'muxclient: master hello exchange failed',
    ]) assert.equal(isMuxNoise(line), true, line);
    for (const line of ['npm ERR! mux_client_request_session', 'Permission denied (publickey).', 'Host key verification failed.', 'error: ControlSocket test failed']) {
      assert.equal(isMuxNoise(line), false, line);
    }
  });

  it('keeps every other line, in order, and an unfinished last line', () => {
    const { kept, noise } = splitMuxNoise('mux_client_request_session: session request failed: Session open refused by peer\r\nwarning: real\nControlSocket /x/cm already exists, disabling multiplexing\r\npartial');
    assert.equal(kept, 'warning: real\npartial');
    assert.equal(noise.length, 2);
  });
});
