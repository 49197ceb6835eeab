# syntax=x

# only comments
   
