export { DEFAULT_HOST, DEFAULT_MAX_LINE, DEFAULT_MAX_N, DEFAULT_PORT, MAX_N_LIMIT } from './lib/limits.js';
export { ERROR_CODES, FibError, isErrorCode, type ErrorCode } from './lib/errors.js';
export { ERROR_LINES, formatAnswer, formatError, parseAnswer } from './lib/format.js';
export {
  BAD_REQUEST,
  BLANK,
  OUT_OF_RANGE,
  parseRequest,
  parseRequestBytes,
  type ParsedRequest,
  type ParseOutcome,
} from './lib/parse.js';
export { FibClient, type FibClientOptions } from './lib/client.js';
