import type { Response } from 'express';

/** JSON-RPC error codes used at the HTTP layer (the SDK's transport uses the same ones). */
export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  InternalError: -32603,
  /** Implementation-defined server error: bad headers, limits, shutting down. */
  ServerError: -32000,
  SessionNotFound: -32001,
} as const;

/** Answers an HTTP request with a JSON-RPC error body (id null: the request was not processed). */
export function sendRpcError(res: Response, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}
