--[[
  (placeholder: the World's wdkCreateRun transition is being written)
  Returns {0}
]]
return { 0 }
