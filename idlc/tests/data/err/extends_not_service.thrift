struct Base {}
service Child extends Base {}
