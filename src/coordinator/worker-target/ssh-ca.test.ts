// The SSH CA suite again, against the Worker in workerd (Miniflare) over Durable Object SQLite: the same tests, a second target.
import { useTarget } from '../testkit.ts';

useTarget('worker');
await import('../ssh-ca.test.ts');
