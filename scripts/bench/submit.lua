-- wrk: POST a public ticket with a fresh applicant phone and filing number
-- each time (SMS budgets and the per-filing rate limit count per number);
-- one in a hundred is for the benchmark's real filing. TENANTS=100 spreads
-- the requests over tenant-001 … tenant-100 (the URL given is then ignored).
local tenants = tonumber(os.getenv("TENANTS") or "1")
local thread_id = 0
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end
local n = 0
request = function()
  n = n + 1
  local phone = string.format("139%08d", (tid * 50000000 + n) % 100000000)
  local filing = (n % 100 == 0) and 1 or (tid * 10000000 + n)
  local body = '{"kind":"password_reset","filing_number":"京ICP备' .. string.format("%08d", filing % 100000000) .. '号","contact_name":"张三",' ..
    '"phone":"' .. phone .. '","id_number":"11010519491231002X","message":"bench"}'
  local path = nil
  if tenants > 1 then path = string.format("/api/v1/public/tenant-%03d/tickets", n % tenants + 1) end
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
