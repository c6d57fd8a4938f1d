import { getConnInfo } from '@hono/node-server/conninfo';
import type { PeerAddress } from '../source-address.ts';

/** The TCP peer of a request served by @hono/node-server (the Node entry's conninfo port). */
export const nodePeerAddress: PeerAddress = (c) => getConnInfo(c).remote.address;
