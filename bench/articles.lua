-- Article pages with random numbers from 1 to the count given after "--".
package.path = package.path .. ";bench/?.lua"
done = require("report").done
local highest = 1000

function init(args)
  highest = tonumber(args[1]) or highest
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  return wrk.format("GET", "/articles/" .. math.random(1, highest))
end
