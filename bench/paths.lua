-- Requests paths drawn at random from the file given after "--", one path
-- a line (each thread seeded apart, so threads do not walk in step).
package.path = package.path .. ";bench/?.lua"
done = require("report").done

local threads = {}
function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(paths, line) end
  end
  math.randomseed(os.time() + (index or 0) * 7919 + math.floor(os.clock() * 1e6))
end

function request()
  return wrk.format("GET", paths[math.random(1, #paths)])
end
