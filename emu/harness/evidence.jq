# The evidence table of one variant ($v, default: the first) for mpxlab compare
include "evlib";
(if $v == "" then .variants[0] else (.variants | map(select(.name == $v)) | .[0]) end) as $x
| if $x == null then "no variant '\($v)'" else ($x | evidence_table) end
