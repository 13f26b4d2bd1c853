// The yardstick for the API's hot path: a bare express route answering a constant JSON.
import express from 'express';

const app = express();
app.use(express.json());
app.post('/v1/fetch', (_req, res) => {
  res.json({ status: 'cached', model: { kind: 'lora', name: 'x' } });
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'bare listening', port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
