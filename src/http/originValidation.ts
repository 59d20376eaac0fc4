import type { RequestHandler } from 'express';
import { isLoopbackHost } from '../config.js';
import { RpcCode, sendRpcError } from './jsonRpcError.js';

/**
 * DNS-rebinding protection, second half (the SDK's hostHeaderValidation is the first): a browser
 * always sends Origin, so a page on a foreign origin is refused. Requests without Origin (CLI
 * and SDK clients) pass. `allowed === null` accepts any loopback origin, on any port.
 */
export function originValidation(allowed: string[] | null): RequestHandler {
  return (req, res, next) => {
    const origin = req.header('origin');
    if (origin === undefined) return next();
    let ok = false;
    try {
      const url = new URL(origin);
      ok = allowed === null ? isLoopbackHost(url.hostname) : allowed.includes(url.origin);
    } catch {
      ok = false;
    }
    if (ok) return next();
    sendRpcError(
      res,
      403,
      RpcCode.ServerError,
      `Forbidden: Origin ${origin} is not allowed (see ALLOWED_ORIGINS)`,
    );
  };
}
