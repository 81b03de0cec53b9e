service Base {}
service Child extends Bse {}
