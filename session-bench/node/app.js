// The koa counterpart of the axum counter apps in session-bench/src/http.rs: one handler that
// increments a counter in the session, koa-session with koa-redis as its external store.
//
// Environment: PORT (default 3000), REDIS_HOST / REDIS_PORT (default 127.0.0.1:6379),
// PREFIX (store key prefix, default "bench:koa:"). Prints "listening" when ready.
'use strict';

const Koa = require('koa');
const session = require('koa-session');
const redisStore = require('koa-redis');

const app = new Koa();
app.keys = ['a secret of at least 32 bytes!!!'];

const store = redisStore({
  host: process.env.REDIS_HOST || '127.0.0.1',
  port: Number(process.env.REDIS_PORT || 6379),
});

app.use(session({
  key: 'sid',
  maxAge: 86400000,
  signed: true,
  httpOnly: true,
  prefix: process.env.PREFIX || 'bench:koa:',
  store,
}, app));

app.use(async (ctx) => {
  const n = (ctx.session.count || 0) + 1;
  ctx.session.count = n;
  ctx.body = String(n);
});

const port = Number(process.env.PORT || 3000);
app.listen(port, '127.0.0.1', () => {
  console.log('listening');
});
