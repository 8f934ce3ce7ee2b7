-- wrk: POST a public ticket for the benchmark filing with a fresh applicant
-- phone each time (so SMS budgets do not pile up on one number).
local thread_id = 0
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end
local n = 0
request = function()
  n = n + 1
  local phone = string.format("139%08d", (tid * 50000000 + n) % 100000000)
  local body = '{"kind":"password_reset","filing_number":"京ICP备00000001号","contact_name":"张三",' ..
    '"phone":"' .. phone .. '","id_number":"11010519491231002X","message":"bench"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
