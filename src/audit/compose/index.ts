/** Pure compose analysis: load a project through a caller-supplied loader, then run the rules. */
export { RULES, RULE_IDS, type RuleId } from './catalog.js';
export { interpolate, literalPart, type Env } from './interpolate.js';
export { parseDotenv } from './dotenv.js';
export { ComposeError, type Loc } from './nodes.js';
export { ProjectLoader, type Loader, type Project, type SourceFile } from './project.js';
export { auditProject, type AuditOptions, type ComposeFinding } from './rules.js';
export { type BuildInfo, type BuildSource, buildSource } from './build.js';
export { dockerfileFacts, type DockerfileFacts } from './dockerfile.js';
