service A extends B {}
service B extends A {}
