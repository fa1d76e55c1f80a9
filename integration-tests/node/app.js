// The Koa and Express apps the node_interop integration test runs next to a Rust service.
// Environment: STYLE=koa|express, STORE=redis|mongo|mysql, STORE_URL, KEYS (comma-separated,
// the first signs), PREFIX (Redis), COLLECTION (MongoDB), TABLE (MySQL), MAX_AGE (ms).
// Prints `listening <port>` once it accepts connections on 127.0.0.1 (PORT=0: a free port).
// Routes: POST /login?user=…, GET /me, GET /set?key=…&value=…, POST /logout.
'use strict';

const env = process.env;
const keys = (env.KEYS || 'interop-key-1').split(',');
const maxAge = Number(env.MAX_AGE || 86400000);
const port = Number(env.PORT || 0);

function listen(server) {
  server.listen(port, '127.0.0.1', () => {
    console.log(`listening ${server.address().port}`);
  });
}

async function koaApp() {
  const http = require('http');
  const Koa = require('koa');
  const { createSession } = require('koa-session');
  const redisStore = require('koa-redis');
  const app = new Koa();
  app.keys = keys;
  app.use(createSession({ store: redisStore({ url: env.STORE_URL }), maxAge }, app));
  app.use(async (ctx) => {
    const q = ctx.query;
    if (ctx.path === '/login' && ctx.method === 'POST') {
      ctx.session.user = q.user;
    } else if (ctx.path === '/set') {
      ctx.session[q.key] = JSON.parse(q.value);
    } else if (ctx.path === '/logout' && ctx.method === 'POST') {
      ctx.session = null;
      ctx.body = {};
      return;
    }
    ctx.body = ctx.session.toJSON();
  });
  listen(http.createServer(app.callback()));
}

async function expressStore(session) {
  if (env.STORE === 'redis') {
    const { RedisStore } = require('connect-redis');
    const { createClient } = require('redis');
    const client = createClient({ url: env.STORE_URL });
    await client.connect();
    return new RedisStore({ client, prefix: env.PREFIX ?? 'sess:' });
  }
  if (env.STORE === 'mongo') {
    const MongoStore = require('connect-mongo').default || require('connect-mongo').MongoStore;
    return MongoStore.create({
      mongoUrl: env.STORE_URL,
      dbName: env.DB || undefined,
      collectionName: env.COLLECTION || 'sessions',
      stringify: env.STRINGIFY !== '0',
      touchAfter: Number(env.TOUCH_AFTER || 0),
    });
  }
  if (env.STORE === 'mysql') {
    const MySQLStore = require('express-mysql-session')(session);
    const url = new URL(env.STORE_URL);
    return new MySQLStore({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username || 'root'),
      password: decodeURIComponent(url.password || ''),
      database: url.pathname.slice(1) || 'test',
      schema: { tableName: env.TABLE || 'sessions' },
    });
  }
  throw new Error(`unknown STORE ${env.STORE}`);
}

async function expressApp() {
  const express = require('express');
  const session = require('express-session');
  const app = express();
  app.use(session({
    store: await expressStore(session),
    secret: keys,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge },
  }));
  const data = (req) => {
    const out = {};
    for (const [k, v] of Object.entries(req.session)) if (k !== 'cookie') out[k] = v;
    return out;
  };
  app.post('/login', (req, res) => {
    req.session.user = req.query.user;
    res.json(data(req));
  });
  app.get('/me', (req, res) => res.json(data(req)));
  app.get('/set', (req, res) => {
    req.session[req.query.key] = JSON.parse(req.query.value);
    res.json(data(req));
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.clearCookie('connect.sid');
      res.json({});
    });
  });
  listen(require('http').createServer(app));
}

(env.STYLE === 'koa' ? koaApp() : expressApp()).catch((e) => {
  console.error(e);
  process.exit(1);
});
