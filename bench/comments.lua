-- Posts anonymous comments, each with its own captcha id (read from the
-- file given after "--", each thread taking its own share), the test
-- captcha answer, the browser's CSRF token and cookie, a distinct text and
-- a distinct client address (the server trusts X-Forwarded-For here, as
-- behind a proxy), on random articles.
-- Arguments: ids-file csrf-token cookie highest-article answer
package.path = package.path .. ";bench/?.lua"
done = require("report").done

local threads = {}
function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local ids, next_id, token, cookie, highest, answer, sent = {}, 1, "", "", 1000, "", 0

function init(args)
  local count = #threads > 0 and #threads or 2
  local n = 0
  for line in io.lines(args[1]) do
    if n % 2 == (index or 0) % 2 then table.insert(ids, line) end
    n = n + 1
  end
  token, cookie, highest, answer = args[2], args[3], tonumber(args[4]), args[5]
  math.randomseed(os.time() + (index or 0) * 7919)
end

local function encode(text)
  return (text:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  local id = ids[next_id] or ids[#ids]
  next_id = next_id + 1
  sent = sent + 1
  local body = "csrf_token=" .. token .. "&captcha_id=" .. encode(id) ..
    "&captcha_answer=" .. answer .. "&anonymous=on&body=" ..
    encode("压测评论 " .. (index or 0) .. "-" .. sent .. "-" .. math.random(1, 1e9))
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254)),
  }
  return wrk.format("POST", "/articles/" .. math.random(1, highest) .. "/comments", headers, body)
end
