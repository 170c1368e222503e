/**
 * Every problem code the compiler reports. Errors block publishing; the codes marked
 * (warning) are reported in `warnings` and do not.
 */
export const compileErrorCodes = [
  'graph_invalid', // the file/graph does not match the graph schema
  'node_duplicate_id',
  'edge_duplicate_id',
  'variable_duplicate', // a variable declared twice
  'node_unknown_type',
  'plugin_unknown', // plugin type not installed (only when options.plugins is given)
  'config_invalid', // a node's data fails its config schema or its own checks
  'goto_unknown_target',
  'regex_invalid', // a pattern RE2 cannot compile (backreferences, lookarounds…)
  'rule_unknown_operator',
  'rule_bad_field',
  'rule_missing_value',
  'rule_bad_value',
  'rule_bad_regex',
  'rule_bad_template',
  'rule_too_deep',
  'edge_unknown_source',
  'edge_unknown_target',
  'port_unknown', // an edge leaves a port the node does not have
  'port_unconnected', // a required port has no edge
  'start_missing',
  'trigger_duplicate', // two start nodes with the same trigger
  'cycle_without_wait', // a loop with no ask/delay would spin forever
  'template_invalid',
  'variable_unknown', // error for session.*/message.*, (warning) for user.*/chat.*/bot.*
  'secret_not_allowed', // secrets.* outside fields rendered inside activities
  'secret_transformed', // a filter applied to secrets.* (or a secret as a filter argument)
  'subchain_unknown', // only when options.subchains is given
  'subchain_no_entry',
  'subchain_recursion', // chains call each other with no wait in between
  'node_unreachable', // (warning)
  'edge_shadowed', // (warning) an edge after an unconditional one can never be taken
  'language_unknown', // (warning) translation for a language the chain does not list
  'rules_empty', // (warning) condition without rules
  'http_body_ignored', // (warning) GET/HEAD with a body
] as const;
export type CompileErrorCode = (typeof compileErrorCodes)[number];

/**
 * A compile problem. `message` names the node (or edge) and the field; `fix` says what
 * to do. `field` is a dotted path inside the node's data (e.g. 'validator.pattern').
 */
export interface CompileError {
  code: CompileErrorCode;
  nodeId?: string;
  edgeId?: string;
  field?: string;
  message: string;
  fix: string;
}
