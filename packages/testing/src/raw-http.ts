import { connect } from 'node:net';

/**
 * Sends raw bytes to an HTTP server (malformed request lines, odd headers) and resolves with
 * everything it wrote back: after one answer's head the socket is ended (keep-alive would hold it
 * open). Fails when nothing comes back within 5 s.
 */
export function rawHttp(origin: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      if (text.includes('\r\n\r\n')) socket.end();
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
  });
}
