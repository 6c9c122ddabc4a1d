// Debian's nginx as the comparison: plain `proxy_pass` with upstream keepalive, and the seed's OpenResty design
// (a Redis lookup of `env:<id>:ip` per request in Lua, `balancer_by_lua` keeping upstream keepalive).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Nginx {
  plainPort: number;
  /** Null when the Lua module or the Redis client for it is not installed. */
  luaPort: number | null;
  stop(): Promise<void>;
}

const LUA_MODULE = '/usr/lib/nginx/modules/ngx_http_lua_module.so';
const NDK_MODULE = '/usr/lib/nginx/modules/ndk_http_module.so';
const LUA_REDIS = '/usr/share/lua/5.1/nginx/redis.lua';

export function luaAvailable(): boolean {
  return existsSync(LUA_MODULE) && existsSync(NDK_MODULE) && existsSync(LUA_REDIS);
}

export async function startNginx(
  dir: string,
  o: { plainPort: number; luaPort: number; target: string; redisPort: number },
): Promise<Nginx> {
  const lua = luaAvailable();
  const conf = `
${lua ? `load_module ${NDK_MODULE};\nload_module ${LUA_MODULE};` : ''}
daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000; # the default 1000 closes client connections mid-run, which the load generator counts as errors
  upstream direct { server ${o.target}; keepalive 64; }
  server {
    listen 127.0.0.1:${o.plainPort};
    location / { proxy_pass http://direct; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
${
  lua
    ? `
  lua_package_path "/usr/share/lua/5.1/?.lua;;";
  upstream dyn {
    server 0.0.0.1;
    balancer_by_lua_block {
      local b = require "ngx.balancer"
      local ok, err = b.set_current_peer(ngx.ctx.ip, ngx.ctx.port)
      if not ok then ngx.log(ngx.ERR, err) end
    }
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${o.luaPort};
    location / {
      access_by_lua_block {
        local id, port = ngx.var.host:match("^([a-z0-9]+)%-(%d+)%.container%.")
        if not id then return ngx.exit(404) end
        local redis = require "nginx.redis"
        local r = redis:new()
        r:set_timeout(1000)
        local ok = r:connect("127.0.0.1", ${o.redisPort})
        if not ok then return ngx.exit(502) end
        local ip = r:get("env:" .. id .. ":ip")
        r:set_keepalive(10000, 64)
        if not ip or ip == ngx.null then return ngx.exit(404) end
        ngx.ctx.ip = ip
        ngx.ctx.port = tonumber(port)
      }
      proxy_pass http://dyn;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`
    : ''
}
}
`;
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const child: ChildProcess = spawn('nginx', ['-p', `${dir}/`, '-c', file, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: see ${join(dir, 'error.log')}`);
  return {
    plainPort: o.plainPort,
    luaPort: lua ? o.luaPort : null,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
        setTimeout(() => child.kill('SIGKILL'), 3000);
      }),
  };
}
