--[[
  (placeholder: the World's wdkEvent transition is being written)
  Returns {0}
]]
return { 0 }
