// bench/peers/sio_server.mjs - the peer of B1 and B2: a stock Node socket.io 4.8 server with the
// same events as StreamHub's test plugin tests/plugins/sioconf (the ones the swarm uses):
//   "join" room (ack true), "to-room" room, data -> "room-msg" data to every member of the room.
// Default in-memory adapter, one process, WebSocket and polling transports, no compression (the
// defaults). Usage: node sio_server.mjs PORT [PING_INTERVAL_MS PING_TIMEOUT_MS]
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] || 0);
const pingInterval = Number(process.argv[3] || 25000);
const pingTimeout = Number(process.argv[4] || 20000);
const http = createServer();
const io = new Server(http, { pingInterval, pingTimeout, maxHttpBufferSize: 1e6, serveClient: false });

io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    if (typeof room === 'string') socket.join(room);
    if (typeof ack === 'function') ack(typeof room === 'string');
  });
  socket.on('to-room', (room, data, ack) => {
    if (typeof room === 'string') io.to(room).emit('room-msg', data);
    if (typeof ack === 'function') ack(true);
  });
});

http.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { io.close(); http.close(); process.exit(0); });
