// The live-updates socket (/api/v1/ws) for views that follow runs as they happen. The
// access token goes in the first message, never in the URL (URLs end up in logs).

export type LiveMessage = { type: string } & Record<string, unknown>;

export interface LiveConnection {
  send(message: LiveMessage): void;
  close(): void;
}

export interface LiveOptions {
  accessToken: () => Promise<string | null>;
  onMessage: (message: LiveMessage) => void;
  onAuthenticated?: () => void;
  onClose?: (code: number) => void;
}

/** Opens the socket and authenticates with `{"type":"auth","accessToken":…}`; messages before `authenticated` are queued. */
export function connectLive(options: LiveOptions): LiveConnection {
  const url = new URL('/api/v1/ws', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  const queue: LiveMessage[] = [];
  let authenticated = false;
  socket.addEventListener('open', () => {
    void options.accessToken().then((accessToken) => socket.send(JSON.stringify({ type: 'auth', accessToken })));
  });
  socket.addEventListener('message', (event) => {
    let message: unknown;
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null || !('type' in message) || typeof message.type !== 'string') return;
    const typed: LiveMessage = { ...message, type: message.type };
    if (typed.type === 'authenticated') {
      authenticated = true;
      options.onAuthenticated?.();
      for (const queued of queue.splice(0)) socket.send(JSON.stringify(queued));
      return;
    }
    options.onMessage(typed);
  });
  socket.addEventListener('close', (event) => options.onClose?.(event.code));
  return {
    send(message) {
      if (authenticated) socket.send(JSON.stringify(message));
      else queue.push(message);
    },
    close: () => socket.close(),
  };
}
