// Live notices of new spans: the server's `spansStored` GraphQL subscription over WebSocket
// (graphql-transport-ws). Callers fall back to polling when the socket cannot be used, e.g.
// behind a proxy that does not pass WebSockets.
import { rootPath } from './api';

const QUERY = 'subscription Live($project: String!) { spansStored(project: $project) { count lagged } }';

/**
 * Calls `onNotice` each time spans of `project` are stored, and `onFail` once if the socket
 * closes or is refused. Returns a function that stops the subscription.
 */
export function subscribeSpansStored(project: string, onNotice: () => void, onFail: () => void): () => void {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let stopped = false;
  let failed = false;
  const fail = () => {
    if (!stopped && !failed) {
      failed = true;
      onFail();
    }
  };
  let socket: WebSocket;
  try {
    socket = new WebSocket(`${scheme}//${location.host}${rootPath}/graphql/ws`, 'graphql-transport-ws');
  } catch {
    fail();
    return () => {};
  }
  socket.onopen = () => {
    // Closing a socket that is still connecting logs an error in Chromium; close it here instead.
    if (stopped) {
      socket.close();
      return;
    }
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  };
  socket.onmessage = (event) => {
    let message: { type?: string };
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    switch (message.type) {
      case 'connection_ack':
        socket.send(
          JSON.stringify({ id: 'live', type: 'subscribe', payload: { query: QUERY, variables: { project } } }),
        );
        // Spans stored between the page's fetch and the subscription are picked up here.
        onNotice();
        break;
      case 'next':
        onNotice();
        break;
      case 'ping':
        socket.send(JSON.stringify({ type: 'pong' }));
        break;
      case 'error':
      case 'complete':
        fail();
        break;
    }
  };
  socket.onclose = fail;
  return () => {
    stopped = true;
    if (socket.readyState === WebSocket.OPEN) socket.close();
  };
}
