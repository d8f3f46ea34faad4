-- One URL, as given on the command line.
package.path = package.path .. ";bench/?.lua"
done = require("report").done
