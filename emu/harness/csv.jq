# connections.jsonl (slurped) -> connections.csv, one row per connection
def b: if . == null then "" elif . == true then 1 elif . == false then 0 else . end;
def ms: if . == null then "" else (. * 1000 | round / 1000) end;
["variant","rep","step","signal","ok","error","verified","mptcp","subflows","tfo",
 "ttfb_ms","t_connected_ms","t_req_sent_ms","t_first_resp_ms","t_done_ms","bytes_out","bytes_in",
 "convert_error","socks_reply","local","via","target","step_rc",
 "a_link","a_signal","a_mptcp","a_fallback_cause","a_subflows","a_syn_opt_bytes","a_syn_opt_left",
 "a_synack_opt_bytes","a_cookie_req","a_cookie_granted","a_cookie_used","a_syn_data_len",
 "a_syn_data_acked","a_hs_rtt_ms","a_ttfb_ms","a_rtts_before_data","a_violations","a_rules"],
(.[] | [.variant, .rep, .step, .signal, (.ok|b), (.error // ""), (.verified|b), (.mptcp // ""),
  (.subflows // ""), (.tfo // ""),
  ((.ttfb_us // null) | if . == null then "" else ./1000 | ms end),
  ((.t_connected_us // null) | if . == null then "" else ./1000 | ms end),
  ((.t_req_sent_us // null) | if . == null then "" else ./1000 | ms end),
  ((.t_first_resp_us // null) | if . == null then "" else ./1000 | ms end),
  ((.t_done_us // null) | if . == null then "" else ./1000 | ms end),
  (.bytes_out // ""), (.bytes_in // ""), (.convert_error // ""), (.socks_reply // ""),
  (.local // ""), (.via // ""), (.target // ""), .step_rc,
  (.a.link // ""), (.a.signal // ""), (.a.mptcp // ""), (.a.fallback_cause // ""), (.a.subflows // ""),
  (.a.syn_opt_bytes // ""), (.a.syn_opt_left // ""), (.a.synack_opt_bytes // ""),
  (.a.tfo.cookie_req | b), (.a.tfo.cookie_granted | b), (.a.tfo.cookie_used | b),
  (.a.tfo.syn_data_len // ""), (.a.tfo.syn_data_acked | b),
  ((.a.hs_rtt_us // null) | if . == null then "" else ./1000 | ms end),
  ((.a.ttfb_us // null) | if . == null then "" else ./1000 | ms end),
  (.a.rtts_before_data // ""),
  (if .a == null then "" else (.a.violations_total // (.a.violations // [] | length)) end),
  (if .a == null then "" else ([.a.violations[]?.rule] | unique | join(" ")) end)
 ])
| @csv
