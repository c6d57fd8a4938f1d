// A stand-in proxy for tests (src/testing/netns.ts): run as an ssh ProxyCommand inside a network namespace, it pipes
// stdin/stdout to HOST:PORT there. CBX_RELAY_DIVERT=<port> sends the connection elsewhere (an impostor behind the proxy).
import { connect } from 'node:net';

const [host, portText] = process.argv.slice(2);
const port = Number(process.env.CBX_RELAY_DIVERT || portText);
const socket = connect({ host: host!, port });
socket.on('error', (error) => {
  process.stderr.write(`relay: ${error.message}\n`);
  process.exit(1);
});
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('end', () => process.exit(0));
