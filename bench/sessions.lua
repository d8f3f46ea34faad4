-- Signed-in staff at once: each connection takes one of the sessions in
-- the file given after "--" ("path<TAB>cookie" lines) and keeps to it.
package.path = package.path .. ";bench/?.lua"
done = require("report").done

local threads = {}
function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local sessions, turn = {}, 0

function init(args)
  for line in io.lines(args[1]) do
    local path, cookie = line:match("^([^\t]+)\t(.*)$")
    if path then table.insert(sessions, { path, cookie }) end
  end
  turn = (index or 0)
end

function request()
  -- Two threads: each walks every other session, so all are in use.
  turn = turn + 2
  local s = sessions[(turn % #sessions) + 1]
  return wrk.format("GET", s[1], { Cookie = s[2] })
end
