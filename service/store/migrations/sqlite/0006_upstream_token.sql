ALTER TABLE `upstreams` ADD `token` text;
